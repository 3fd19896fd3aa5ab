"""Self-checking exercises of chapter 05 (autoencoders).

Each check computes the right answer from the reader's fitted soundad model;
it never stores the answer.
"""

from __future__ import annotations

from soundad.exercises import register

__all__ = ["trained_parameters"]


@register(
    "ch05-parameters",
    hint="every weight matrix and bias of the network is trained: sum p.numel() over "
    "model.network_.parameters()",
)
def trained_parameters(answer, *, model, **context) -> bool:
    """Right when ``answer`` is the number of trained weights of ``model``.

    ``model`` is a fitted :class:`soundad.autoencoders.DenseAutoencoderDetector`
    or :class:`~soundad.autoencoders.ConvAutoencoderDetector`.
    """
    right = sum(int(p.numel()) for p in model.network_.parameters() if p.requires_grad)
    try:
        return float(answer) == right
    except (TypeError, ValueError):
        return False

"""Self-checking exercises of chapter 02, registered with soundad.exercises.register."""

"""Help: 'What am I seeing?', the Lessons page and the validation page."""

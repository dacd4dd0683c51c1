"""The functional-depth probe: Brian2 teachers, TCN students, functional depth."""

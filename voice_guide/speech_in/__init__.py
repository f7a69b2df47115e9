"""Speech in: hearing the spoken commands."""

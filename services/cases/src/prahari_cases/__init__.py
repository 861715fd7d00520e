"""Cases: opens a case for every report and keeps each case's full, replayable history."""

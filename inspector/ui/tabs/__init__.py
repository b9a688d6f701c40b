"""The window's tabs: one records view each, around a live session or a capture file."""

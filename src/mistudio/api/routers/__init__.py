"""One router per resource; each file holds its request and response models."""

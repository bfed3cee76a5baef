"""What a network has learned as a whole: top test images per unit, maximised pictures, the test set's map."""

"""Building blocks shared by panels: canvas, mosaic, fitted text, style, visibility."""

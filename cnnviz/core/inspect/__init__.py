"""Looking inside a network: stages and activations, the unit inspector, receptive fields,
the architecture graph, attribution, kernel edits, six networks side by side."""

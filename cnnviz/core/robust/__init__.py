"""When does a network fail, and can its explanations be trusted? Attacks, distortions, sanity checks."""

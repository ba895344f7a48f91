"""SEM image analysis: layer thickness and roughness in cross-sections, particles and dendrites in top views."""

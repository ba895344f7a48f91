"""AI-assisted discovery (``dsei discover``): enumerate candidate SEI phases by ionic substitution, rank them
with a learned surrogate of ln K, ln G and ln(B/G), and verify the best with the MLIP funnel. docs/discovery.md.
"""

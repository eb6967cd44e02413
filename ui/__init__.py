"""Streamlit page helpers that are not figures: the live Plotly component."""

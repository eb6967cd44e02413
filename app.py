"""Placeholder page: the live page comes next."""
import streamlit as st

import softmax

st.title("Softmax gradient")
st.write(f"softmax package {softmax.__version__} imported")

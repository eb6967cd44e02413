"""Figure data of a training snapshot: Plotly figures as plain dicts, for any model's parameters.

No Streamlit and no plotly.py here: ``softmax`` computes, ``viz`` turns a Snapshot into
figure data, ``ui`` puts it on the page.
"""

"""Figure data of a training snapshot: Plotly figures as plain dicts, for any model's parameters.

No Streamlit and no plotly.py here: ``softmax`` computes, ``viz`` turns a Snapshot into
figure data (``viz.figures``: which charts a model gets; one module per kind of chart;
``viz.style``: colours, themes, number formats), ``ui`` puts it on the page.
"""

from .confusion import confusion_figure
from .dscores import dscores_figure
from .figures import all_figures, chart_names, figure
from .gradients import gradient_history_figure, gradient_table_figure
from .loss import loss_figure
from .plane import decision_figure, hidden_figure, margins_figure
from .style import DARK, LIGHT, THEMES

__all__ = [
    "DARK", "LIGHT", "THEMES", "all_figures", "chart_names", "confusion_figure", "decision_figure", "dscores_figure",
    "figure", "gradient_history_figure", "gradient_table_figure", "hidden_figure", "loss_figure", "margins_figure",
]

"""The course's one explorer contract.

An :class:`Explorer` is an ipywidgets ``VBox`` with

* ``controls``: the input widgets by name (sliders, dropdowns, text boxes, checkboxes, buttons);
* ``views``: the output widgets by name (images, HTML);
* ``state``: a dict with what the views show now (the control values and the data drawn);
* ``render()``: recompute from the current control values and update the views.

Every control's change calls ``render()``. The update function is a thin adapter over pure
functions; when it raises, the error is shown in the explorer's status line (``state["error"]``)
and never reaches the notebook's event loop. Tests drive an explorer by name, headless:
``ex.set(layer=3)`` or ``ex.controls["layer"].value = 3``, then assert on ``ex.state``.
"""

from __future__ import annotations

import html
from typing import Callable, Mapping, Sequence

import ipywidgets as widgets


class Explorer(widgets.VBox):
    """A widget tree with named controls, named views, a state dict and a safe render().

    Args:
        controls: name -> input widget; every one with a ``value`` is observed.
        views: name -> output widget the update function writes to.
        update: ``update(values, views) -> dict`` where ``values`` maps control names to their
            current values; it sets the views and returns the data it drew (stored in ``state``).
        rows: how to arrange the widgets: a list whose items are a name, a widget, or a list of
            those (one horizontal row). Default: every control, then every view.
        buttons: name -> callback(explorer) for buttons in ``controls`` (clicks, not values).
        render_now: render once at construction.
    """

    def __init__(
        self,
        controls: Mapping[str, widgets.Widget],
        views: Mapping[str, widgets.Widget],
        update: Callable[[dict, dict], dict | None],
        *,
        rows: Sequence | None = None,
        buttons: Mapping[str, Callable[["Explorer"], str | None]] | None = None,
        render_now: bool = True,
    ):
        self.controls = dict(controls)
        self.views = dict(views)
        self.status = widgets.HTML("")
        self.state: dict = {}
        self._update = update
        arranged = [self._place(r) for r in (rows if rows is not None else [*self.controls, *self.views])]
        super().__init__(arranged + [self.status])
        for name, control in self.controls.items():
            if isinstance(control, widgets.Button):
                callback = (buttons or {}).get(name)
                if callback is not None:
                    control.on_click(lambda _b, cb=callback: self._click(cb))
            elif hasattr(control, "value"):
                control.observe(lambda _change: self.render(), names="value")
        if render_now:
            self.render()

    def _widget(self, item) -> widgets.Widget:
        if isinstance(item, widgets.Widget):
            return item
        if item in self.controls:
            return self.controls[item]
        if item in self.views:
            return self.views[item]
        raise ValueError(f"No control or view named {item!r}; have {sorted(self.controls) + sorted(self.views)}.")

    def _place(self, row) -> widgets.Widget:
        if isinstance(row, (list, tuple)):
            return widgets.HBox([self._widget(x) for x in row])
        return self._widget(row)

    def values(self) -> dict:
        """The current value of every control that has one, by name."""
        return {name: c.value for name, c in self.controls.items()
                if hasattr(c, "value") and not isinstance(c, widgets.Button)}

    def _show_error(self, exc: Exception) -> None:
        self.status.value = f"<span style='color:#b00020'>error: {html.escape(str(exc))}</span>"

    def render(self) -> dict:
        """Recompute the views from the controls; returns (and stores) the new state. Never raises."""
        values = self.values()
        try:
            drawn = self._update(values, self.views) or {}
        except Exception as exc:  # shown in the widget, never raised into the notebook's event loop
            self._show_error(exc)
            self.state = {**values, "error": str(exc)}
            return self.state
        self.status.value = ""
        self.state = {**values, **drawn}
        return self.state

    def _click(self, callback) -> None:
        try:
            message = callback(self)
        except Exception as exc:
            self._show_error(exc)
            return
        self.status.value = html.escape(message) if message else ""

    def set(self, **values) -> dict:
        """Set controls by name (each change renders), then return the state."""
        unknown = [k for k in values if k not in self.controls]
        if unknown:
            raise ValueError(f"No control named {unknown}; this explorer has {sorted(self.controls)}.")
        for name, value in values.items():
            self.controls[name].value = value
        return self.state

    def click(self, name: str) -> str:
        """Press the button ``name`` (as a reader would); returns the status line it left."""
        button = self.controls.get(name)
        if not isinstance(button, widgets.Button):
            raise ValueError(f"{name!r} is not a button of this explorer.")
        button.click()
        return self.status.value

"""Kurasi's conversations, channel-agnostic, in three wings.

- `kit/`: the event/reply seam, context, feature type, payloads, rendering, forms, parsing.
  It knows no feature; importing it loads none.
- `rules/`: pure domain rules (photos, rubric, precheck, schedule, the assist's checks).
- `features/`: one room per feature, each declaring its `FEATURE`.
- `routes.py`: the route table, assembled from the features, and `dispatch`.
- `i18n.py`: the `N_` marker every wing uses (it imports nothing).
"""

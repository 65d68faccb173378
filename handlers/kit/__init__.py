"""The kit: the event/reply seam, the context, the feature type, payloads, rendering, forms and
parsing. It knows no feature: nothing here imports handlers.features or handlers.routes."""

"""Pure domain rules of the curator assist (issue 23): each check is data plus a function,
with no database or channel in sight. `legality` reads legal document numbers, `plausibility`
asks about figures that do not fit, `hs` suggests HS headings, `readiness` lists what a
destination market asks, `photo_hash` compares perceptual hashes, `assess` joins them."""

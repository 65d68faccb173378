"""Marking strings for translation inside handlers/.

Strings are translated per reader at the moment a reply is built (`ctx.t(...)`); tables of
labels are marked with `N_` so the extractor finds them and translated when shown.
"""


def N_(message: str) -> str:
    return message

"""Official provinces and communes (xã, phường, đặc khu) and the search citizens use to pick one.

People type their commune the way they say it: with or without diacritics, with "xã", "p.", "p1" or
nothing, followed by the province in full, short ("HN", "tphcm", "SG") or by its name before the
1 Jul 2025 merger, with typos and with leftovers of a street address. Many still give the address
of before the reform, with its district: ``_old`` reads those back to the communes that replaced
them, from the official conversion. A query that names no commune well finds nothing. The search
is pure and in memory: a dict answers exact names, rapidfuzz scores the rest.
"""

from bot.geo._index import CommuneIndex
from bot.geo._places import Candidate, Commune, Province, load_communes

__all__ = ["Candidate", "Commune", "CommuneIndex", "Province", "load_communes"]

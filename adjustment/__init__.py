"""Fair comparison of districts: expected attainment given conditions, drivers, and peer groups.

In the spirit of the US WIOA Statistical Adjustment Model: a regression of completion on each district's
conditions, estimated on past years, applied to this year's conditions. An analysis aid, not the official target.
"""

from adjustment.model import DRIVERS, expected_attainment, peer_groups

__all__ = ["DRIVERS", "expected_attainment", "peer_groups"]

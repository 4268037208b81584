"""Market-making strategies built on the framework.

The reference strategy is :class:`strategies.market_maker.MarketMaker` (component name
``"strategy"``): GLFT quotes (:mod:`strategies.glft`) clamped into a spread profile
(:mod:`strategies.profiles`), sized by :mod:`strategies.sizing`, with an optional
Q-learning layer (:mod:`strategies.qlearning`) choosing spread and skew multipliers.
"""

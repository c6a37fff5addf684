"""Two-player differentiable games on one flat vector: the game type, built-in games,
GAN games (autograd, or the engine's MLPs), the dynamics methods and the Nash
classification of Ratliff, Burden & Sastry 2013.

Public names of :mod:`~gandyn.games.game` and :mod:`~gandyn.games.nash` are re-exported
here (``gandyn.games.mlp_gan_game``, ``gandyn.games.classify``); the methods live in
:mod:`gandyn.games.dynamics`, the built-in games' closed forms in :mod:`gandyn.games.closed_forms`.
"""
from gandyn.games import game, traced  # noqa: I001  (game first: the others import it)
from gandyn.games import closed_forms, dynamics, nash
from gandyn.games.game import *  # noqa: F401,F403
from gandyn.games.game import __all__ as _game_all
from gandyn.games.nash import *  # noqa: F401,F403
from gandyn.games.nash import __all__ as _nash_all

__all__ = [*_game_all, *_nash_all, "closed_forms", "dynamics", "game", "nash", "traced"]

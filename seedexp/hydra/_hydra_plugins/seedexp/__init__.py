"""seedexp's Hydra plugins, installed as the package ``hydra_plugins.seedexp``.

Hydra discovers plugins by importing every module of the ``hydra_plugins``
namespace (in wheel and editable installs alike) and keeps the classes that
subclass its plugin types. Two live here, each a thin class whose work is
done in :mod:`seedexp.hydra`, imported only when Hydra uses it:

* :mod:`.searchpath`: puts seedexp's shipped configs (``pkg://seedexp.conf``)
  on every Hydra app's search path, so ``defaults: [seedexp, _self_]``,
  ``hydra/sweeper=seedexp`` and the launcher presets resolve anywhere.
* :mod:`.sweeper`: the ``seedexp`` sweeper (``hydra/sweeper: seedexp``).
"""

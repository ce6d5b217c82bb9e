"""Every write of the deals app, one module per workflow:

- ``pipelines``: pipelines, their stages and products (the settings page), the default preset;
- ``deals``: create, update, move on the board (optimistic ``version``), win, lose, reopen;
- ``qualify``: a rep accepts a handoff with BANT, which becomes an SQL and a deal;
- ``quotas``: what each rep is expected to win per month;
- ``stagnation``: the periodic alert for deals sitting too long in a stage.
"""

from sokyaku.deals.services.deals import (
    deal_create,
    deal_lines_set,
    deal_lose,
    deal_move,
    deal_update,
    deal_win,
)
from sokyaku.deals.services.pipelines import (
    pipeline_presets_install,
    pipeline_save,
    product_save,
    stage_delete,
    stage_save,
)
from sokyaku.deals.services.qualify import handoff_qualify
from sokyaku.deals.services.quotas import quotas_save
from sokyaku.deals.services.stagnation import stagnation_tick

__all__ = [
    "deal_create",
    "deal_lines_set",
    "deal_lose",
    "deal_move",
    "deal_update",
    "deal_win",
    "handoff_qualify",
    "pipeline_presets_install",
    "pipeline_save",
    "product_save",
    "quotas_save",
    "stage_delete",
    "stage_save",
    "stagnation_tick",
]

# After the sale (orders, referrals): re-exports below.
from sokyaku.deals.services.orders import order_record  # noqa: E402
from sokyaku.deals.services.referrals import (  # noqa: E402
    referral_attribute,
    referral_code_get_or_create,
    referral_reward_set,
    referral_rewards_earn,
)

__all__ += [
    "order_record",
    "referral_attribute",
    "referral_code_get_or_create",
    "referral_reward_set",
    "referral_rewards_earn",
]

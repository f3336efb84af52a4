"""爱心超市: rewards with stock that staff manage and people redeem with 公益积分."""

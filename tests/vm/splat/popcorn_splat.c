// SPDX-License-Identifier: GPL-2.0
/* Deliberately broken: every load logs a WARNING splat. */
#include <linux/bug.h>
#include <linux/module.h>

static int __init popcorn_splat_init(void)
{
	WARN(1, "popcorn_splat: deliberate splat for the rig's own test\n");
	return 0;
}

static void __exit popcorn_splat_exit(void)
{
}

module_init(popcorn_splat_init);
module_exit(popcorn_splat_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Test fixture: warns on load");

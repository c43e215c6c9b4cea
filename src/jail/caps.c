/* SPDX-License-Identifier: MIT */
/*
 * The jail's credential steps (libcap): empty the bounding set and the
 * ambient set, become --uid/--gid with no supplementary groups, clear every
 * capability set and check that nothing is left.
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "jail/jail_priv.h"

int jail_caps_drop_bounding(struct jail_ctx *c)
{
	unsigned int n = (unsigned int)cap_max_bits();

	for (unsigned int cap = 0; cap < n; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return snprintf(c->detail, sizeof(c->detail), "cap %u", cap), -errno;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return snprintf(c->detail, sizeof(c->detail), "ambient set"), -errno;
	return 0;
}

int jail_caps_set_ids(struct jail_ctx *c)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	/*
	 * In a user namespace setgroups is denied (it had to be, to write
	 * gid_map): the supplementary groups stay the caller's own.
	 */
	if (!c->userns && setgroups(0, NULL) < 0)
		return snprintf(c->detail, sizeof(c->detail), "setgroups"), -errno;
	if (setresgid(c->o->gid, c->o->gid, c->o->gid) < 0)
		return snprintf(c->detail, sizeof(c->detail), "setresgid %u", c->o->gid), -errno;
	if (setresuid(c->o->uid, c->o->uid, c->o->uid) < 0)
		return snprintf(c->detail, sizeof(c->detail), "setresuid %u", c->o->uid), -errno;
	if (getresuid(&ru, &eu, &su) || getresgid(&rg, &eg, &sg) || ru != c->o->uid || eu != ru ||
	    su != ru || rg != c->o->gid || eg != rg || sg != rg ||
	    (!c->userns && getgroups(0, NULL) != 0))
		return snprintf(c->detail, sizeof(c->detail), "ids did not stick"), -EPERM;
	return 0;
}

int jail_caps_drop_all(struct jail_ctx *c)
{
	cap_t none = cap_init(), now;
	int cmp, err = 0;

	if (!none)
		return -ENOMEM;
	if (cap_set_proc(none) < 0) {
		err = -errno;
		cap_free(none);
		return err;
	}
	now = cap_get_proc();
	cmp = now ? cap_compare(now, none) : -1;
	if (now)
		cap_free(now);
	cap_free(none);
	if (cmp != 0)
		return snprintf(c->detail, sizeof(c->detail), "capabilities remain"), -EPERM;
	for (unsigned int cap = 0; cap < (unsigned int)cap_max_bits(); cap++)
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1)
			return snprintf(c->detail, sizeof(c->detail), "bounding cap %u remains",
					cap),
			       -EPERM;
	return 0;
}

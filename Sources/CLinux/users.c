// User and group lookups (NSS), done in the supervisor before a spawn: the child may not call them.
#define _GNU_SOURCE
#include "CLinux.h"
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

int bh_lookup_user(const char *name, uid_t *uid, gid_t *gid, gid_t *groups, int *group_count) {
    char buffer[16384];
    struct passwd pw, *found = NULL;
    int rc = getpwnam_r(name, &pw, buffer, sizeof buffer, &found);
    if (rc != 0) return -rc;
    if (!found) return -ENOENT;
    *uid = pw.pw_uid;
    *gid = pw.pw_gid;
    if (groups && group_count) {
        int n = *group_count;
        if (getgrouplist(name, pw.pw_gid, groups, &n) < 0) return -ERANGE;
        *group_count = n;
    }
    return 0;
}

int bh_lookup_group(const char *name, gid_t *gid) {
    char buffer[65536];
    struct group gr, *found = NULL;
    int rc = getgrnam_r(name, &gr, buffer, sizeof buffer, &found);
    if (rc != 0) return -rc;
    if (!found) return -ENOENT;
    *gid = gr.gr_gid;
    return 0;
}

int bh_user_in_group(uid_t uid, gid_t gid) {
    char buffer[16384];
    struct passwd pw, *found = NULL;
    if (getpwuid_r(uid, &pw, buffer, sizeof buffer, &found) != 0 || !found) return 0;
    if (pw.pw_gid == gid) return 1;
    gid_t groups[256];
    int n = 256;
    if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) < 0) return 0;
    for (int i = 0; i < n; i++) if (groups[i] == gid) return 1;
    return 0;
}

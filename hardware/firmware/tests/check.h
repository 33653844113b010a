/* check.h - the smallest test harness: CHECK(cond) counts, reports and continues. */
#ifndef DDPG_FW_CHECK_H
#define DDPG_FW_CHECK_H

#include <stdio.h>

extern int check_failures, check_count;

#define CHECK(cond)                                                                              \
    do {                                                                                         \
        check_count++;                                                                           \
        if (!(cond)) {                                                                           \
            check_failures++;                                                                    \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);             \
        }                                                                                        \
    } while (0)

#endif /* DDPG_FW_CHECK_H */

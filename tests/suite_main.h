/*
 * suite_main.h — the main() every Check test program shares: runs one suite
 * (forked, so a crash fails only its case) and exits non-zero on failure.
 */
#ifndef TES_SUITE_MAIN_H
#define TES_SUITE_MAIN_H

#include <check.h>
#include <stdlib.h>

#define TES_CHECK_MAIN(make_suite)                                            \
    int main(void)                                                            \
    {                                                                         \
        SRunner *sr = srunner_create(make_suite());                           \
        srunner_run_all(sr, CK_NORMAL);                                       \
        int failed = srunner_ntests_failed(sr);                               \
        srunner_free(sr);                                                     \
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;                          \
    }

#endif

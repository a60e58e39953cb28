/* Stand-in for libc's stdlib.h (see README). */
#pragma once
#include <stddef.h>
void abort(void);

#ifndef MYDATA_CSODIUM_SHIM_H
#define MYDATA_CSODIUM_SHIM_H
#include <sodium.h>
#endif

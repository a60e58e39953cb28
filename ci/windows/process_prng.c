/*
 * bcryptprimitives.dll!ProcessPrng for Wine 8, which lacks it. Rust's std
 * (1.78 and later) imports ProcessPrng for its random keys before main, so
 * without this shim every Rust test binary fails to start under Wine 8.
 * It fills the buffer from advapi32's RtlGenRandom (SystemFunction036), the
 * system CSPRNG Wine does provide; no cryptography is written here.
 * ci/windows.sh builds it with mingw into the Wine prefix.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x7fffffff ? 0x7fffffff : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}

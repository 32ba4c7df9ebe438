/* SPDX-License-Identifier: MIT */
/*
 * vm-exit CODE: ends the qemu VM of scripts/vm-test.sh through its isa-debug-exit device
 * (port 0xf4): qemu exits with status (CODE << 1) | 1. Static, run by the VM's /init.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/io.h>

int main(int argc, char **argv)
{
	unsigned code = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 0) : 0;

	if (ioperm(0xf4, 4, 1) != 0) {
		perror("vm-exit: ioperm");
		return 1;
	}
	outl(code, 0xf4);
	return 0; /* not reached when the device is there */
}

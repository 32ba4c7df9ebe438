/* SPDX-License-Identifier: MIT */
/*
 * The example's guest: 64-bit code, position-independent (RIP-relative data, relative
 * jumps and calls), copied by the VMM to guest RAM and run with RSP on a stack in RAM.
 * It talks to two devices the VMM emulates with <sidecar/emulate.h>:
 *
 *   COM1, a 16550-style UART at ports 0x3f8..0x3ff: each character waits for LSR.THRE
 *         (bit 5 of port 0x3fd) and is then written to THR (port 0x3f8).
 *   DEMO, a register block in device memory at GPA 0x20000000 (identity-mapped):
 *         0x00 ID (ro), 0x04 CTRL (rw, bit 0 ENABLE), 0x08 SCRATCH (rw),
 *         0x0c STATUS (ro: bit 0 = CTRL.ENABLE, bits 8..15 = writes so far),
 *         0x20..0x2f NAME (ro, 16 bytes of text).
 *
 * It prints a greeting, reads ID, writes and reads SCRATCH, sets CTRL.ENABLE with a
 * read-modify-write (OR), tests STATUS bit 0 with BT, copies NAME into RAM with REP MOVSB,
 * prints what it found, and halts. Assembled into the host program as data (.rodata).
 */
	.section .rodata
	.globl uart_guest_start
	.globl uart_guest_end
	.code64

#define DEMO 0x20000000
#define COM1 0x3f8
#define LSR (COM1 + 5)

uart_guest_start:
	lea	greeting(%rip), %rsi
	call	puts

	mov	$DEMO, %edi
	lea	s_id(%rip), %rsi
	call	puts
	mov	(%rdi), %eax			/* MOV r32, [mem] */
	call	puthex32

	movl	$0xcafef00d, 8(%rdi)		/* MOV [mem], imm32 */
	lea	s_scratch(%rip), %rsi
	call	puts
	movzwl	8(%rdi), %eax			/* MOVZX: the low half */
	call	puthex32

	orl	$1, 4(%rdi)			/* OR [mem], imm8: read-modify-write */
	lea	s_status(%rip), %rsi
	call	puts
	mov	0xc(%rdi), %eax
	call	puthex32
	lea	s_disabled(%rip), %rsi
	btl	$0, 0xc(%rdi)			/* BT [mem], imm8 */
	jnc	1f
	lea	s_enabled(%rip), %rsi
1:	call	puts

	lea	0x20(%rdi), %rsi		/* REP MOVSB from device memory to RAM */
	lea	name(%rip), %rdi
	mov	$16, %ecx
	cld
	rep movsb
	lea	s_name(%rip), %rsi
	call	puts
	lea	name(%rip), %rsi
	call	puts
	lea	s_bye(%rip), %rsi
	call	puts
	hlt
	jmp	.

/* putc: the character in %bl, once the transmitter holding register is empty. */
putc:
	push	%rax
	push	%rdx
	mov	$LSR, %dx
2:	in	%dx, %al
	test	$0x20, %al
	jz	2b
	mov	$COM1, %dx
	mov	%bl, %al
	out	%al, %dx
	pop	%rdx
	pop	%rax
	ret

/* puts: the NUL-terminated string at %rsi. */
puts:
	push	%rbx
	push	%rsi
3:	mov	(%rsi), %bl
	test	%bl, %bl
	jz	4f
	call	putc
	inc	%rsi
	jmp	3b
4:	pop	%rsi
	pop	%rbx
	ret

/* puthex32: %eax as 8 hex digits and a newline. */
puthex32:
	push	%rbx
	push	%rcx
	push	%rdx
	lea	hexdigits(%rip), %rdx
	mov	$8, %ecx
5:	rol	$4, %eax
	mov	%eax, %ebx
	and	$0xf, %ebx
	movzbl	(%rdx,%rbx), %ebx
	call	putc
	dec	%ecx
	jnz	5b
	mov	$'\n', %bl
	call	putc
	pop	%rdx
	pop	%rcx
	pop	%rbx
	ret

hexdigits:	.ascii "0123456789abcdef"
greeting:	.asciz "Hello from a guest on a sidecar VP: UART through the emulation helper.\n"
s_id:		.asciz "demo id:      "
s_scratch:	.asciz "scratch low:  "
s_status:	.asciz "status:       "
s_enabled:	.asciz "demo device enabled\n"
s_disabled:	.asciz "demo device NOT enabled\n"
s_name:		.asciz "device name:  "
s_bye:		.asciz "\nbye\n"
name:		.fill 17, 1, 0
uart_guest_end:

	.section .note.GNU-stack, "", @progbits

/*
 * aml: a small emitter for the ACPI Machine Language used by the DSDT.
 *
 * Bytes are appended to a growable buffer; constructs with a PkgLength
 * (Scope, Device, Method, Package, Buffer) are opened with aml_open_*() and
 * closed with aml_close(), which encodes the length in front of the body.
 * Allocation failures are sticky: check aml->err once at the end.
 */
#ifndef MV_ACPI_AML_H
#define MV_ACPI_AML_H

#include <stddef.h>
#include <stdint.h>

struct aml {
	uint8_t *buf;
	size_t len;
	size_t cap;
	int err;
	size_t open[16]; /* body start offsets of the open constructs */
	unsigned int depth;
};

void aml_init(struct aml *a);
void aml_free(struct aml *a);

void aml_byte(struct aml *a, uint8_t b);
void aml_bytes(struct aml *a, const void *p, size_t n);
/* n little-endian bytes of v (raw data, as in table bodies; not an AML integer). */
void aml_le(struct aml *a, uint64_t v, unsigned int n);
/* "\\_SB_.PC00", "_S5_", "COM1": segments are padded to 4 characters with '_'. */
void aml_namestring(struct aml *a, const char *path);
/* Smallest encoding: ZeroOp, OneOp, Byte/Word/DWord/QWord prefix. */
void aml_integer(struct aml *a, uint64_t v);
void aml_string(struct aml *a, const char *s);
/* EISA ID such as "PNP0A03" encoded as a DWord. */
void aml_eisaid(struct aml *a, const char *id);

/* Name(NAME, ...): emits NameOp and the name; the value follows. */
void aml_name(struct aml *a, const char *name);
void aml_open_scope(struct aml *a, const char *name);
void aml_open_device(struct aml *a, const char *name);
void aml_open_method(struct aml *a, const char *name, uint8_t flags);
void aml_open_package(struct aml *a, uint8_t nelems);
void aml_close(struct aml *a);
/* Buffer whose size operand is computed when it is closed with aml_close_buffer(). */
void aml_open_buffer(struct aml *a);
void aml_close_buffer(struct aml *a);
void aml_return(struct aml *a);

/* Resource descriptors, to be placed in a buffer (ResourceTemplate). */
void aml_res_io(struct aml *a, uint16_t base, uint8_t len);
void aml_res_irq_noflags(struct aml *a, unsigned int irq);
void aml_res_word_bus(struct aml *a, uint16_t min, uint16_t max);
void aml_res_word_io(struct aml *a, uint16_t min, uint16_t max);
void aml_res_dword_mem(struct aml *a, uint32_t min, uint32_t max);
void aml_res_qword_mem(struct aml *a, uint64_t min, uint64_t max);
/* Extended interrupt descriptor: consumer, edge, active high, exclusive. */
void aml_res_interrupt_edge(struct aml *a, uint32_t gsi);
void aml_res_end(struct aml *a);
/* Notify(OBJECT, value) */
void aml_notify(struct aml *a, const char *object, uint64_t value);

/*
 * Control-method code. AML is prefix notation: an operator's opcode comes
 * first, then its operands, so aml_op() is followed by the operands' own
 * emitters (integers, names, locals, nested operators) and, for operators
 * with a Target, aml_target_none() or a name.
 */
#define AML_OP_STORE	  0x70
#define AML_OP_ADD	  0x72
#define AML_OP_SUBTRACT	  0x74
#define AML_OP_SHIFT_LEFT 0x79
#define AML_OP_OR	  0x7D
#define AML_OP_LEQUAL	  0x93
void aml_op(struct aml *a, uint8_t op);
void aml_local(struct aml *a, unsigned int n); /* Local0..Local7 */
void aml_arg(struct aml *a, unsigned int n);   /* Arg0..Arg6 */
void aml_target_none(struct aml *a);
/* If (predicate) { ... }: the predicate follows, then the body; aml_close() ends it. */
void aml_open_if(struct aml *a);
void aml_open_else(struct aml *a);

/* Field access types and update rules (FieldFlags). */
#define AML_FIELD_BYTE	       0x01
#define AML_FIELD_DWORD	       0x03
#define AML_FIELD_PRESERVE     0x00
#define AML_FIELD_WRITE_ZEROES 0x40
/* OperationRegion(NAME, SystemIO, port, len) */
void aml_region_io(struct aml *a, const char *name, uint16_t port, uint16_t len);
/* Field(REGION, flags) { ... }: aml_field_unit() and aml_field_skip() fill it; aml_close() ends it.
 */
void aml_open_field(struct aml *a, const char *region, uint8_t flags);
void aml_field_unit(struct aml *a, const char *name, uint32_t bits);
void aml_field_skip(struct aml *a, uint32_t bits);
void aml_mutex(struct aml *a, const char *name);
void aml_acquire(struct aml *a, const char *mutex);
void aml_release(struct aml *a, const char *mutex);
/* CreateQWordField(source, byte index, NAME): the opcode; source, index and name follow. */
void aml_op_create_qword_field(struct aml *a);

/* PkgLength encoding of a body of n bytes; returns the number of bytes written to out[4],
 * or 0 when n is too long for a PkgLength (2^28 bytes with the encoding). */
unsigned int aml_pkglen_encode(size_t body, uint8_t out[4]);

#endif

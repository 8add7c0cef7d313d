/*
 * pff_nodes.c: independent oracle for mailfsck's PST/OST node-database (NDB)
 * walker.  Opens a PST/OST/PAB read-only through libpff and prints, as JSON on
 * stdout, everything libpff can tell about the file's nodes and blocks.
 *
 * Build:  cc tests/oracle/pff_nodes.c -lpff -o pff_nodes
 *         (Debian: libpff-dev, plus libbfio-dev, because /usr/include/libpff.h
 *         includes <libbfio.h> but libpff-dev does not depend on libbfio-dev.)
 *
 * Usage:  pff_nodes [options] FILE
 *   --max-depth N   depth bound of the item walk (default 64)
 *   --recover       also run libpff_file_recover_items() (scans unallocated
 *                   space; slow on big files) and list the recovered items
 *   --no-internal   do not read libpff's private index trees (see below)
 *   --no-unallocated  do not list the AMap/PMap free ranges
 *   --names         add folder names, message subjects, sender names and
 *                   addresses and plain-text bodies, attachment file names
 *                   (UTF-8, each up to 1 MiB), and whether a message has
 *                   transport headers
 *   --timing        add a "timing_ms" object (makes output non-deterministic)
 *   --verbose       libpff_notify_set_verbose(1) with stream stderr
 * Exit status: 0 ok, 1 libpff could not open the file, 2 usage error.
 *
 * What comes from libpff's PUBLIC C API (libpff.h, version 20180714):
 *   "libpff_size" (libpff_file_get_size returns the header's ROOT.ibFileEof, not
 *   the size on disk; "file_size" is from stat), content type (PST/OST/PAB),
 *   file type (32-bit ANSI, 64-bit Unicode, 64-bit with 4k pages),
 *   encryption type (bCryptMethod), is_corrupted;
 *   the item tree: every item's identifier (its NBT node id, NID; 32 bits),
 *   item type, number of sub items, record sets and entries; the orphan
 *   items; the recovered items (after libpff_file_recover_items); message
 *   attachments and the recipients item (their identifiers are sub-node NIDs
 *   from the message's local descriptors / SLBLOCK tree, not NBT NIDs);
 *   the unallocated data ranges (AMap) and page ranges (PMap) as (offset,
 *   size) pairs.  libpff builds its item tree from EVERY live NBT leaf entry
 *   at open time: an entry whose nidParent equals its own NID (the root
 *   folder) or is 0 or resolves to another entry goes under the root item,
 *   the rest become orphans; duplicate NIDs are dropped.  So "tree" items
 *   (minus the virtual root, NID 0) plus "orphan" items = the live NBT NIDs.
 *   The public API exposes NO block ids (BIDs), no file offsets of blocks or
 *   pages, no nidParent, no bidData/bidSub, and no way to enumerate the BBT.
 *
 * What comes from libpff's PRIVATE structures ("internal", default on):
 *   Debian's libpff.so.1 exports its internal symbols (libpff_* internals
 *   and the bundled libfdata and libcdata functions).  For libpff 20180714
 *   only (checked at run time, plus consistency checks against the public
 *   getters), this program mirrors libpff's private structs
 *   (libpff_internal_file_t, libpff_io_handle_t, the descriptors/offsets
 *   index, libpff_index_value_t, libpff_internal_item_t,
 *   libpff_item_descriptor_t) and walks libpff's own in-memory B-trees
 *   through the exported libfdata_tree_node_* functions.  That yields, as
 *   libpff reads them:
 *     NBT: every leaf entry (nid, bid_data, bid_sub, nid_parent), the file
 *          offset of its page and its index in the page, plus the "deleted"
 *          entries libpff finds in the slack of leaf pages (index >= cEnt);
 *     BBT: every leaf entry (bid, ib, cb, cref) the same way;
 *     pages of both trees: offset, bid (from the parent's BREF), depth,
 *          leaf, entry counts, and for branch pages the (key, bid, ib)
 *          children;
 *     items: bid_data / bid_sub of every item (and attachment sub-node).
 *   libpff masks NBT keys to 32 bits, skips slack entries whose key is 0
 *   (and NBT slack entries with bid_data 0, BBT slack entries with ib <= 0
 *   or cb == 0), and does not reject index pages with bad CRCs.  It checks a
 *   branch entry's BID against the bid in the child page's trailer only when
 *   the child is itself a branch page (a mismatch fails that subtree and is
 *   reported as an error); leaf pages are taken whatever their trailer says.  If the version or a
 *   check does not match, "internal" says why and nothing private is
 *   touched any further.
 *
 * 4k-page files (wVer 36, "format":"unicode_4k"): libpff 20180714 reads the
 *   16-bit field at bytes 18-19 of a BBT entry as the reference count, but
 *   in these files it is the inflated (uncompressed) size of the block (the
 *   reference count follows at bytes 20-21).  So for 4k files the BBT
 *   entries carry "cb_inflated" and no "cref".  libpff also reads a 4k AMap
 *   bit as 64 bytes (it is 512), so "unallocated" is marked unreliable there.
 *
 * libpff_notify_set_verbose/_set_stream exist, but Debian builds libpff
 * without HAVE_DEBUG_OUTPUT, so verbose mode prints nothing about index
 * nodes or offsets (nothing at all, on the corpus).
 */

#define _FILE_OFFSET_BITS 64
#define _POSIX_C_SOURCE 200809L

/* libpff 20180714's own accessor macros for subjects and attachment names
 * expand to functions it marks deprecated. */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#include <libpff.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ------------------------------------------------------------------------
 * Private libpff 20180714 structures (mirrors; see the header comment).
 * ------------------------------------------------------------------------ */

#define PFF_MIRROR_VERSION "20180714"

typedef struct {
	void *index_nodes_vector;
	void *index_nodes_cache;
	uint64_t file_size;
	uint8_t encryption_type;
	uint8_t force_decryption;
	uint8_t file_type;
	uint8_t flags;
	int ascii_codepage;
	int abort;
} mirror_io_handle_t;

typedef struct {
	mirror_io_handle_t *io_handle;
	void *index_tree;           /* libfdata_tree_t * */
	void *recovered_index_tree; /* libfdata_tree_t * */
	void *index_cache;          /* libfcache_cache_t * */
} mirror_index_t;               /* libpff_descriptors_index_t and libpff_offsets_index_t */

typedef struct {
	mirror_io_handle_t *io_handle;
	void *file_io_handle; /* libbfio_handle_t * */
	uint8_t file_io_handle_created_in_library;
	uint8_t file_io_handle_opened_in_library;
	mirror_index_t *descriptors_index;
	mirror_index_t *offsets_index;
	void *item_tree_root_node;
	void *root_folder_item_tree_node;
	void *orphan_item_list;
	void *recovered_item_list;
	int read_allocation_tables;
	void *unallocated_data_block_list;
	void *unallocated_page_block_list;
	void *name_to_id_map_list;
	int content_type;
} mirror_internal_file_t;

typedef struct {
	uint64_t identifier;
	union {
		struct {
			uint64_t back_pointer;
		} branch;
		struct {
			int64_t file_offset;
			uint32_t data_size;
			uint16_t reference_count;
		} offset;
		struct {
			uint64_t data_identifier;
			uint64_t local_descriptors_identifier;
			uint32_t parent_identifier;
		} descriptor;
	} u;
} mirror_index_value_t;

typedef struct {
	uint32_t descriptor_identifier;
	uint64_t data_identifier;
	uint64_t local_descriptors_identifier;
	uint8_t recovered;
	int recovered_data_identifier_value_index;
	int recovered_local_descriptors_identifier_value_index;
} mirror_item_descriptor_t;

typedef struct {
	void *file_io_handle;
	mirror_internal_file_t *internal_file;
	void *item_tree_node;
	uint8_t type;
	uint8_t flags;
	mirror_item_descriptor_t *item_descriptor;
	/* further members are not used */
} mirror_internal_item_t;

/* Exported by libpff.so.1 (bundled libfdata 20180327), not declared in any
 * installed header.  libcerror_error_t is libpff_error_t. */
extern int libfdata_tree_get_root_node(void *tree, void **root_node, libpff_error_t **error);
extern int libfdata_tree_node_get_number_of_sub_nodes(void *node, intptr_t *file_io_handle, void *cache,
                                                      int *number_of_sub_nodes, uint8_t read_flags,
                                                      libpff_error_t **error);
extern int libfdata_tree_node_get_sub_node_by_index(void *node, intptr_t *file_io_handle, void *cache,
                                                    int sub_node_index, void **sub_node, uint8_t read_flags,
                                                    libpff_error_t **error);
extern int libfdata_tree_node_is_deleted(void *node, libpff_error_t **error);
extern int libfdata_tree_node_is_leaf(void *node, intptr_t *file_io_handle, void *cache, uint8_t read_flags,
                                      libpff_error_t **error);
extern int libfdata_tree_node_get_node_value(void *node, intptr_t *file_io_handle, void *cache,
                                             intptr_t **node_value, uint8_t read_flags, libpff_error_t **error);
extern int libfdata_tree_node_get_data_range(void *node, int *file_index, off64_t *offset, size64_t *size,
                                             uint32_t *flags, libpff_error_t **error);
extern int libfdata_tree_node_get_sub_nodes_data_range(void *node, int *file_index, off64_t *offset,
                                                       size64_t *size, uint32_t *flags, libpff_error_t **error);

/* ------------------------------------------------------------------------
 * Small JSON writer
 * ------------------------------------------------------------------------ */

static FILE *out;

static void json_string(const char *s)
{
	const unsigned char *p = (const unsigned char *) (s ? s : "");
	fputc('"', out);
	for (; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\n': fputs("\\n", out); break;
		case '\r': fputs("\\r", out); break;
		case '\t': fputs("\\t", out); break;
		default:
			if (*p < 0x20)
				fprintf(out, "\\u%04x", *p);
			else
				fputc(*p, out);
		}
	}
	fputc('"', out);
}

/* A libpff error as one line (the first line of libpff_error_sprint);
 * frees the error. */
static void error_text(libpff_error_t **error, char *buf, size_t size)
{
	buf[0] = '\0';
	if (error != NULL && *error != NULL) {
		if (libpff_error_backtrace_sprint(*error, buf, size) < 0 && libpff_error_sprint(*error, buf, size) < 0)
			snprintf(buf, size, "unknown libpff error");
		libpff_error_free(error);
	} else {
		snprintf(buf, size, "failed without an error object");
	}
	for (char *c = buf; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	size_t n = strlen(buf);
	while (n > 0 && buf[n - 1] == ' ')
		buf[--n] = '\0';
}

/* Collects per-object error strings ("call: message"). */
typedef struct {
	char text[6][1024];
	int count;
} errors_t;

static void add_error(errors_t *errs, const char *call, libpff_error_t **error)
{
	char msg[960];
	error_text(error, msg, sizeof msg);
	if (errs->count < 6)
		snprintf(errs->text[errs->count++], sizeof errs->text[0], "%s: %s", call, msg);
}

/* libpff's subject and long-file-name accessors are macros; these give
 * them the shape of libpff_folder_get_utf8_name*. */
static int subject_size(libpff_item_t *item, size_t *size, libpff_error_t **error)
{
	return libpff_message_get_utf8_subject_size(item, size, error);
}
static int subject(libpff_item_t *item, uint8_t *s, size_t size, libpff_error_t **error)
{
	return libpff_message_get_utf8_subject(item, s, size, error);
}
static int sender_name_size(libpff_item_t *item, size_t *size, libpff_error_t **error)
{
	return libpff_message_get_utf8_sender_name_size(item, size, error);
}
static int sender_name(libpff_item_t *item, uint8_t *s, size_t size, libpff_error_t **error)
{
	return libpff_message_get_utf8_sender_name(item, s, size, error);
}
static int sender_email_size(libpff_item_t *item, size_t *size, libpff_error_t **error)
{
	return libpff_message_get_utf8_sender_email_address_size(item, size, error);
}
static int sender_email(libpff_item_t *item, uint8_t *s, size_t size, libpff_error_t **error)
{
	return libpff_message_get_utf8_sender_email_address(item, s, size, error);
}
static int long_filename_size(libpff_item_t *item, size_t *size, libpff_error_t **error)
{
	return libpff_attachment_get_utf8_long_filename_size(item, size, error);
}
static int long_filename(libpff_item_t *item, uint8_t *s, size_t size, libpff_error_t **error)
{
	return libpff_attachment_get_utf8_long_filename(item, s, size, error);
}

/* Prints ,"key":"value" for a UTF-8 string the item has (at most 1 MiB);
 * nothing when it has none. */
static void print_string(libpff_item_t *item, const char *key,
                         int (*get_size)(libpff_item_t *, size_t *, libpff_error_t **),
                         int (*get)(libpff_item_t *, uint8_t *, size_t, libpff_error_t **))
{
	libpff_error_t *error = NULL;
	size_t size = 0;
	if (get_size(item, &size, &error) != 1 || size == 0 || size >= 1048576) {
		libpff_error_free(&error);
		return;
	}
	uint8_t *value = malloc(size);
	if (value && get(item, value, size, &error) == 1) {
		fprintf(out, ",\"%s\":", key);
		json_string((const char *) value);
	} else {
		libpff_error_free(&error);
	}
	free(value);
}

static void json_errors(const errors_t *errs)
{
	if (errs->count == 0)
		return;
	fputs(",\"errors\":[", out);
	for (int i = 0; i < errs->count; i++) {
		if (i)
			fputc(',', out);
		json_string(errs->text[i]);
	}
	fputc(']', out);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* ------------------------------------------------------------------------
 * Names
 * ------------------------------------------------------------------------ */

static const char *item_type_name(uint8_t t)
{
	static const char *names[] = {
		"undefined", "activity", "appointment", "attachment", "attachments", "common",
		"configuration", "conflict_message", "contact", "distribution_list", "document",
		"email", "email_smime", "fax", "folder", "meeting", "mms", "note", "posting_note",
		"recipients", "rss_feed", "sharing", "sms", "sub_associated_contents", "sub_folders",
		"sub_messages", "task", "task_request", "voicemail", "unknown"};
	if (t < sizeof names / sizeof names[0])
		return names[t];
	return "?";
}

/* [MS-PST] 2.2.2.1: the low 5 bits of a NID are its nidType. */
static const char *nid_type_name(uint32_t nid)
{
	switch (nid & 0x1f) {
	case 0x00: return "HID";
	case 0x01: return "INTERNAL";
	case 0x02: return "NORMAL_FOLDER";
	case 0x03: return "SEARCH_FOLDER";
	case 0x04: return "NORMAL_MESSAGE";
	case 0x05: return "ATTACHMENT";
	case 0x06: return "SEARCH_UPDATE_QUEUE";
	case 0x07: return "SEARCH_CRITERIA_OBJECT";
	case 0x08: return "ASSOC_MESSAGE";
	case 0x0a: return "CONTENTS_TABLE_INDEX";
	case 0x0b: return "RECEIVE_FOLDER_TABLE";
	case 0x0c: return "OUTGOING_QUEUE_TABLE";
	case 0x0d: return "HIERARCHY_TABLE";
	case 0x0e: return "CONTENTS_TABLE";
	case 0x0f: return "ASSOC_CONTENTS_TABLE";
	case 0x10: return "SEARCH_CONTENTS_TABLE";
	case 0x11: return "ATTACHMENT_TABLE";
	case 0x12: return "RECIPIENT_TABLE";
	case 0x13: return "SEARCH_TABLE_INDEX";
	case 0x1f: return "LTP";
	default: return "?";
	}
}

/* ------------------------------------------------------------------------
 * Item walk (public API, plus bid_data/bid_sub when internals are usable)
 * ------------------------------------------------------------------------ */

static int opt_max_depth = 64;
static int opt_names = 0;
static int internals_ok = 0; /* set once the private mirrors are verified */

typedef struct {
	long tree, orphan, recovered, attachment, embedded, recipients;
	long errors;
	long depth_limited;
} counts_t;

static counts_t counts;
static int first_item;

static void walk_item(libpff_item_t *item, const char *origin, uint32_t parent, int depth, int virtual_root);

static void begin_item(void)
{
	if (!first_item)
		fputs(",\n", out);
	first_item = 0;
}

/* Attachments and recipients of a message-like item. */
static void walk_message_parts(libpff_item_t *item, uint32_t nid, int depth)
{
	libpff_error_t *error = NULL;
	int n = 0;

	if (libpff_message_get_number_of_attachments(item, &n, &error) != 1) {
		errors_t errs = {0};
		add_error(&errs, "libpff_message_get_number_of_attachments", &error);
		begin_item();
		fprintf(out, "{\"origin\":\"attachment\",\"parent\":%" PRIu32 ",\"depth\":%d", nid, depth + 1);
		json_errors(&errs);
		fputc('}', out);
		counts.errors++;
		n = 0;
	}
	for (int i = 0; i < n; i++) {
		libpff_item_t *att = NULL;
		if (libpff_message_get_attachment(item, i, &att, &error) != 1) {
			errors_t errs = {0};
			add_error(&errs, "libpff_message_get_attachment", &error);
			begin_item();
			fprintf(out, "{\"origin\":\"attachment\",\"parent\":%" PRIu32 ",\"depth\":%d,\"index\":%d", nid,
			        depth + 1, i);
			json_errors(&errs);
			fputc('}', out);
			counts.errors++;
			continue;
		}
		walk_item(att, "attachment", nid, depth + 1, 0);
		libpff_item_free(&att, NULL);
	}
	libpff_item_t *rcpt = NULL;
	int r = libpff_message_get_recipients(item, &rcpt, &error);
	if (r == 1 && rcpt != NULL) {
		walk_item(rcpt, "recipients", nid, depth + 1, 0);
		libpff_item_free(&rcpt, NULL);
	} else if (r == -1) {
		errors_t errs = {0};
		add_error(&errs, "libpff_message_get_recipients", &error);
		begin_item();
		fprintf(out, "{\"origin\":\"recipients\",\"parent\":%" PRIu32 ",\"depth\":%d", nid, depth + 1);
		json_errors(&errs);
		fputc('}', out);
		counts.errors++;
	}
}

static void walk_item(libpff_item_t *item, const char *origin, uint32_t parent, int depth, int virtual_root)
{
	libpff_error_t *error = NULL;
	errors_t errs = {0};
	uint32_t nid = 0;
	uint8_t type = 0;
	int have_type = 0;
	int sub_items = -1;
	int record_sets = -1;
	uint32_t entries = 0;
	int have_entries = 0;

	if (libpff_item_get_identifier(item, &nid, &error) != 1)
		add_error(&errs, "libpff_item_get_identifier", &error);
	if (!virtual_root) {
		if (libpff_item_get_type(item, &type, &error) == 1)
			have_type = 1;
		else
			add_error(&errs, "libpff_item_get_type", &error);
	}
	if (libpff_item_get_number_of_sub_items(item, &sub_items, &error) != 1) {
		add_error(&errs, "libpff_item_get_number_of_sub_items", &error);
		sub_items = -1;
	}
	if (!virtual_root) {
		if (libpff_item_get_number_of_record_sets(item, &record_sets, &error) != 1) {
			add_error(&errs, "libpff_item_get_number_of_record_sets", &error);
			record_sets = -1;
		}
		if (libpff_item_get_number_of_entries(item, &entries, &error) == 1)
			have_entries = 1;
		else
			add_error(&errs, "libpff_item_get_number_of_entries", &error);
	}

	begin_item();
	fprintf(out, "{\"origin\":");
	json_string(origin);
	fprintf(out, ",\"nid\":%" PRIu32 ",\"nid_type\":", nid);
	json_string(virtual_root ? "ROOT" : nid_type_name(nid));
	fprintf(out, ",\"parent\":%" PRIu32 ",\"depth\":%d", parent, depth);
	if (virtual_root)
		fputs(",\"virtual\":true", out);
	if (have_type) {
		fputs(",\"type\":", out);
		json_string(item_type_name(type));
	}
	if (sub_items >= 0)
		fprintf(out, ",\"sub_items\":%d", sub_items);
	if (record_sets >= 0)
		fprintf(out, ",\"record_sets\":%d", record_sets);
	if (have_entries)
		fprintf(out, ",\"entries\":%" PRIu32, entries);
	if (internals_ok && !virtual_root) {
		const mirror_internal_item_t *ii = (const mirror_internal_item_t *) item;
		const mirror_item_descriptor_t *d = ii->item_descriptor;
		if (d != NULL && d->descriptor_identifier == nid) {
			fprintf(out, ",\"bid_data\":%" PRIu64 ",\"bid_sub\":%" PRIu64, d->data_identifier,
			        d->local_descriptors_identifier);
			if (d->recovered)
				fputs(",\"recovered\":true", out);
		} else {
			fputs(",\"bid_data\":null,\"bid_sub\":null", out);
		}
	}
	if (have_type && type == LIBPFF_ITEM_TYPE_ATTACHMENT) {
		int att_type = 0;
		size64_t size = 0;
		if (libpff_attachment_get_type(item, &att_type, &error) == 1) {
			fputs(",\"attachment_type\":", out);
			json_string(att_type == LIBPFF_ATTACHMENT_TYPE_DATA        ? "data"
			            : att_type == LIBPFF_ATTACHMENT_TYPE_ITEM      ? "item"
			            : att_type == LIBPFF_ATTACHMENT_TYPE_REFERENCE ? "reference"
			                                                            : "undefined");
		} else {
			add_error(&errs, "libpff_attachment_get_type", &error);
		}
		int r = libpff_attachment_get_data_size(item, &size, &error);
		if (r == 1)
			fprintf(out, ",\"data_size\":%" PRIu64, (uint64_t) size);
		else if (r == -1)
			add_error(&errs, "libpff_attachment_get_data_size", &error);
		/* an embedded message (attachment_type "item") is walked below,
		 * after this object is closed */
	}
	if (opt_names && have_type && !virtual_root) {
		if (type == LIBPFF_ITEM_TYPE_FOLDER)
			print_string(item, "name", libpff_folder_get_utf8_name_size, libpff_folder_get_utf8_name);
		else if (type == LIBPFF_ITEM_TYPE_ATTACHMENT)
			print_string(item, "long_filename", long_filename_size, long_filename);
		else {
			print_string(item, "subject", subject_size, subject);
			print_string(item, "sender_name", sender_name_size, sender_name);
			print_string(item, "sender_email", sender_email_size, sender_email);
			print_string(item, "body", libpff_message_get_plain_text_body_size,
			             libpff_message_get_plain_text_body);
			libpff_error_t *error = NULL;
			size_t size = 0;
			if (libpff_message_get_entry_value_utf8_string_size(item, LIBPFF_ENTRY_TYPE_MESSAGE_TRANSPORT_HEADERS,
			                                                    &size, &error) == 1 && size > 1)
				fputs(",\"transport_headers\":true", out);
			libpff_error_free(&error);
		}
	}
	int limited = depth >= opt_max_depth && sub_items > 0;
	if (limited) {
		fputs(",\"depth_limited\":true", out);
		counts.depth_limited++;
	}
	json_errors(&errs);
	fputc('}', out);
	if (errs.count)
		counts.errors++;

	if (strcmp(origin, "tree") == 0 && !virtual_root)
		counts.tree++;
	else if (strcmp(origin, "orphan") == 0)
		counts.orphan++;
	else if (strcmp(origin, "recovered") == 0)
		counts.recovered++;
	else if (strcmp(origin, "attachment") == 0)
		counts.attachment++;
	else if (strcmp(origin, "embedded") == 0)
		counts.embedded++;
	else if (strcmp(origin, "recipients") == 0)
		counts.recipients++;

	if (depth >= opt_max_depth)
		return;

	/* Embedded message of an attachment. */
	if (have_type && type == LIBPFF_ITEM_TYPE_ATTACHMENT) {
		int att_type = 0;
		if (libpff_attachment_get_type(item, &att_type, &error) == 1 && att_type == LIBPFF_ATTACHMENT_TYPE_ITEM) {
			libpff_item_t *emb = NULL;
			if (libpff_attachment_get_item(item, &emb, &error) == 1 && emb != NULL) {
				walk_item(emb, "embedded", nid, depth + 1, 0);
				libpff_item_free(&emb, NULL);
			} else {
				libpff_error_free(&error);
			}
		} else {
			libpff_error_free(&error);
		}
	}

	/* Message parts: anything typed that is not a folder/attachment/recipients. */
	if (have_type && type != LIBPFF_ITEM_TYPE_FOLDER && type != LIBPFF_ITEM_TYPE_ATTACHMENT &&
	    type != LIBPFF_ITEM_TYPE_ATTACHMENTS && type != LIBPFF_ITEM_TYPE_RECIPIENTS &&
	    type != LIBPFF_ITEM_TYPE_UNDEFINED)
		walk_message_parts(item, nid, depth);

	/* Sub items of the item tree (NBT children by nidParent). */
	const char *child_origin = (strcmp(origin, "orphan") == 0 || strcmp(origin, "recovered") == 0) ? origin : "tree";
	if (strcmp(origin, "attachment") == 0 || strcmp(origin, "embedded") == 0 || strcmp(origin, "recipients") == 0)
		child_origin = origin;
	for (int i = 0; i < sub_items; i++) {
		libpff_item_t *sub = NULL;
		if (libpff_item_get_sub_item(item, i, &sub, &error) != 1) {
			errors_t e2 = {0};
			add_error(&e2, "libpff_item_get_sub_item", &error);
			begin_item();
			fprintf(out, "{\"origin\":");
			json_string(child_origin);
			fprintf(out, ",\"parent\":%" PRIu32 ",\"depth\":%d,\"index\":%d", nid, depth + 1, i);
			json_errors(&e2);
			fputc('}', out);
			counts.errors++;
			continue;
		}
		walk_item(sub, child_origin, nid, depth + 1, 0);
		libpff_item_free(&sub, NULL);
	}
}

/* ------------------------------------------------------------------------
 * Private index walk
 * ------------------------------------------------------------------------ */

typedef struct {
	const char *name; /* "nbt" or "bbt" */
	int is_nbt;
	int four_k; /* wVer 36: bytes 18-19 of a BBT entry are cbInflated, not cRef */
	mirror_index_t *index;
	intptr_t *file_io_handle;
	/* buffered output: entries and pages are printed as two arrays */
	char *entries;
	size_t entries_len, entries_cap;
	char *pages;
	size_t pages_len, pages_cap;
	long live, deleted, npages;
	long errors;
	int max_depth;
	/* offsets of the pages visited so far (open addressing; 0 = empty slot),
	 * so that a B-tree whose branch entries loop back is walked once */
	uint64_t *seen;
	size_t seen_count, seen_cap;
} index_walk_t;

static void buf_printf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void buf_printf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		size_t room = *cap - *len;
		va_start(ap, fmt);
		int n = vsnprintf(*buf ? *buf + *len : NULL, *buf ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (*buf && (size_t) n < room) {
			*len += (size_t) n;
			return;
		}
		size_t ncap = *cap ? *cap * 2 : 65536;
		while (ncap - *len <= (size_t) n)
			ncap *= 2;
		char *nb = realloc(*buf, ncap);
		if (!nb) {
			fprintf(stderr, "pff_nodes: out of memory\n");
			exit(3);
		}
		*buf = nb;
		*cap = ncap;
	}
}

/* Returns 1 if offset was already visited, else records it and returns 0. */
static int seen_before(index_walk_t *w, int64_t offset)
{
	uint64_t key = (uint64_t) offset + 1; /* never 0 */
	if (w->seen_count * 2 >= w->seen_cap) {
		size_t ncap = w->seen_cap ? w->seen_cap * 2 : 1024;
		uint64_t *n = calloc(ncap, sizeof *n);
		if (!n) {
			fprintf(stderr, "pff_nodes: out of memory\n");
			exit(3);
		}
		for (size_t i = 0; i < w->seen_cap; i++) {
			if (!w->seen[i])
				continue;
			size_t j = (size_t) (w->seen[i] * 0x9E3779B97F4A7C15ULL) & (ncap - 1);
			while (n[j])
				j = (j + 1) & (ncap - 1);
			n[j] = w->seen[i];
		}
		free(w->seen);
		w->seen = n;
		w->seen_cap = ncap;
	}
	size_t j = (size_t) (key * 0x9E3779B97F4A7C15ULL) & (w->seen_cap - 1);
	while (w->seen[j]) {
		if (w->seen[j] == key)
			return 1;
		j = (j + 1) & (w->seen_cap - 1);
	}
	w->seen[j] = key;
	w->seen_count++;
	return 0;
}

static void page_error(index_walk_t *w, int64_t page_offset, const char *call, libpff_error_t **error)
{
	char msg[256];
	error_text(error, msg, sizeof msg);
	w->errors++;
	buf_printf(&w->pages, &w->pages_len, &w->pages_cap, "%s{\"offset\":%" PRId64 ",\"error\":", w->npages++ ? ",\n" : "",
	           page_offset);
	/* escape the message into the buffer */
	buf_printf(&w->pages, &w->pages_len, &w->pages_cap, "\"");
	for (const char *c = call; *c; c++)
		buf_printf(&w->pages, &w->pages_len, &w->pages_cap, "%c", *c);
	buf_printf(&w->pages, &w->pages_len, &w->pages_cap, ": ");
	for (const unsigned char *c = (const unsigned char *) msg; *c; c++) {
		if (*c == '"' || *c == '\\')
			buf_printf(&w->pages, &w->pages_len, &w->pages_cap, "\\%c", *c);
		else if (*c >= 0x20)
			buf_printf(&w->pages, &w->pages_len, &w->pages_cap, "%c", *c);
	}
	buf_printf(&w->pages, &w->pages_len, &w->pages_cap, "\"}");
}

/* node: a tree node whose sub nodes are the entries of one page.
 * page_bid: the BID that pointed at that page (BREF.bid of the parent). */
static void visit_page(index_walk_t *w, void *node, uint64_t page_bid, int depth)
{
	libpff_error_t *error = NULL;
	int file_index = 0;
	off64_t page_offset = -1;
	size64_t range_size = 0;
	uint32_t range_flags = 0;
	int n = 0;

	if (depth > w->max_depth)
		w->max_depth = depth;
	if (depth > 32) {
		w->errors++;
		return;
	}
	if (libfdata_tree_node_get_sub_nodes_data_range(node, &file_index, &page_offset, &range_size, &range_flags,
	                                                &error) != 1) {
		page_error(w, -1, "libfdata_tree_node_get_sub_nodes_data_range", &error);
		return;
	}
	if (seen_before(w, (int64_t) page_offset)) {
		w->errors++;
		buf_printf(&w->pages, &w->pages_len, &w->pages_cap,
		           "%s{\"offset\":%" PRId64 ",\"bid\":%" PRIu64 ",\"depth\":%d,\"error\":\"page already visited\"}",
		           w->npages++ ? ",\n" : "", (int64_t) page_offset, page_bid, depth);
		return;
	}
	if (libfdata_tree_node_get_number_of_sub_nodes(node, w->file_io_handle, w->index->index_cache, &n, 0, &error) !=
	    1) {
		page_error(w, (int64_t) page_offset, "read page", &error);
		return;
	}

	/* First pass: entries of this page. Children are visited after the page
	 * object has been emitted, so pages come out in pre-order. */
	typedef struct {
		void *node;
		uint64_t key, bid;
		int64_t ib;
	} child_t;
	child_t *children = n > 0 ? calloc((size_t) n, sizeof *children) : NULL;
	int nchildren = 0, live = 0, deleted = 0, leaf_page = -1;
	char *kids = NULL;
	size_t kids_len = 0, kids_cap = 0;

	for (int i = 0; i < n; i++) {
		void *sub = NULL;
		if (libfdata_tree_node_get_sub_node_by_index(node, w->file_io_handle, w->index->index_cache, i, &sub, 0,
		                                             &error) != 1 ||
		    sub == NULL) {
			page_error(w, (int64_t) page_offset, "libfdata_tree_node_get_sub_node_by_index", &error);
			continue;
		}
		int is_deleted = libfdata_tree_node_is_deleted(sub, &error);
		if (is_deleted == -1) {
			page_error(w, (int64_t) page_offset, "libfdata_tree_node_is_deleted", &error);
			continue;
		}
		int is_leaf = libfdata_tree_node_is_leaf(sub, w->file_io_handle, w->index->index_cache, 0, &error);
		if (is_leaf == -1) {
			page_error(w, (int64_t) page_offset, "read entry", &error);
			continue;
		}
		mirror_index_value_t *v = NULL;
		if (libfdata_tree_node_get_node_value(sub, w->file_io_handle, w->index->index_cache, (intptr_t **) &v, 0,
		                                      &error) != 1 ||
		    v == NULL) {
			page_error(w, (int64_t) page_offset, "read entry value", &error);
			continue;
		}
		mirror_index_value_t val = *v; /* the cache may evict it later */
		/* libpff stores (entry offset, entry index) as the node's data range;
		 * the offset is wrong for slack entries that follow a skipped one, so
		 * only the index is used. */
		off64_t entry_offset = -1;
		size64_t entry_index = 0;
		if (libfdata_tree_node_get_data_range(sub, &file_index, &entry_offset, &entry_index, &range_flags,
		                                      &error) != 1) {
			libpff_error_free(&error);
			entry_index = (size64_t) i;
		}
		if (is_leaf) {
			leaf_page = 1;
			if (is_deleted)
				deleted++, w->deleted++;
			else
				live++, w->live++;
			if (w->is_nbt)
				buf_printf(&w->entries, &w->entries_len, &w->entries_cap,
				           "%s{\"nid\":%" PRIu64 ",\"bid_data\":%" PRIu64 ",\"bid_sub\":%" PRIu64
				           ",\"nid_parent\":%" PRIu32 ",\"page\":%" PRId64 ",\"index\":%" PRIu64 "%s}",
				           (w->live + w->deleted) > 1 ? ",\n" : "", val.identifier,
				           val.u.descriptor.data_identifier, val.u.descriptor.local_descriptors_identifier,
				           val.u.descriptor.parent_identifier, (int64_t) page_offset, (uint64_t) entry_index,
				           is_deleted ? ",\"deleted\":true" : "");
			else
				buf_printf(&w->entries, &w->entries_len, &w->entries_cap,
				           "%s{\"bid\":%" PRIu64 ",\"ib\":%" PRId64 ",\"cb\":%" PRIu32 ",\"%s\":%" PRIu16
				           ",\"page\":%" PRId64 ",\"index\":%" PRIu64 "%s}",
				           (w->live + w->deleted) > 1 ? ",\n" : "", val.identifier, val.u.offset.file_offset,
				           val.u.offset.data_size, w->four_k ? "cb_inflated" : "cref",
				           val.u.offset.reference_count, (int64_t) page_offset, (uint64_t) entry_index,
				           is_deleted ? ",\"deleted\":true" : "");
		} else {
			leaf_page = 0;
			off64_t child_off = -1;
			if (libfdata_tree_node_get_sub_nodes_data_range(sub, &file_index, &child_off, &range_size,
			                                                &range_flags, &error) != 1) {
				libpff_error_free(&error);
				child_off = -1;
			}
			buf_printf(&kids, &kids_len, &kids_cap,
			           "%s{\"key\":%" PRIu64 ",\"bid\":%" PRIu64 ",\"ib\":%" PRId64 "%s}", nchildren ? "," : "",
			           val.identifier, val.u.branch.back_pointer, (int64_t) child_off,
			           is_deleted ? ",\"deleted\":true" : "");
			live++;
			children[nchildren].node = sub;
			children[nchildren].key = val.identifier;
			children[nchildren].bid = val.u.branch.back_pointer;
			children[nchildren].ib = (int64_t) child_off;
			nchildren++;
		}
	}
	buf_printf(&w->pages, &w->pages_len, &w->pages_cap,
	           "%s{\"offset\":%" PRId64 ",\"bid\":%" PRIu64 ",\"depth\":%d,\"leaf\":%s,\"entries\":%d",
	           w->npages++ ? ",\n" : "", (int64_t) page_offset, page_bid, depth,
	           leaf_page == 1 ? "true" : leaf_page == 0 ? "false" : "null", live);
	if (leaf_page == 1)
		buf_printf(&w->pages, &w->pages_len, &w->pages_cap, ",\"deleted\":%d", deleted);
	if (leaf_page == 0)
		buf_printf(&w->pages, &w->pages_len, &w->pages_cap, ",\"children\":[%s]", kids ? kids : "");
	buf_printf(&w->pages, &w->pages_len, &w->pages_cap, "}");
	free(kids);

	for (int i = 0; i < nchildren; i++)
		visit_page(w, children[i].node, children[i].bid, depth + 1);
	free(children);
}

static void walk_index(index_walk_t *w)
{
	libpff_error_t *error = NULL;
	void *root = NULL;
	mirror_index_value_t *v = NULL;

	if (libfdata_tree_get_root_node(w->index->index_tree, &root, &error) != 1 || root == NULL) {
		page_error(w, -1, "libfdata_tree_get_root_node", &error);
		return;
	}
	/* The root tree node is virtual: reading its value sets the sub-nodes
	 * range to the root page (BREF.ib) and back_pointer to BREF.bid. */
	if (libfdata_tree_node_get_node_value(root, w->file_io_handle, w->index->index_cache, (intptr_t **) &v, 0,
	                                      &error) != 1 ||
	    v == NULL) {
		page_error(w, -1, "read root", &error);
		return;
	}
	visit_page(w, root, v->u.branch.back_pointer, 0);
}

static void emit_index(index_walk_t *w)
{
	fprintf(out, "\"%s\":{\"entries_live\":%ld,\"entries_deleted\":%ld,\"pages\":%ld,\"depth\":%d,\"errors\":%ld,",
	        w->name, w->live, w->deleted, w->npages, w->max_depth, w->errors);
	fputs("\n\"page_list\":[\n", out);
	if (w->pages)
		fwrite(w->pages, 1, w->pages_len, out);
	fputs("],\n\"entry_list\":[\n", out);
	if (w->entries)
		fwrite(w->entries, 1, w->entries_len, out);
	fputs("]}", out);
	free(w->pages);
	free(w->entries);
	free(w->seen);
	w->seen = NULL;
	w->pages = w->entries = NULL;
}

/* Decides whether the private mirrors match this libpff and this file. */
static const char *check_internals(libpff_file_t *file, size64_t size, uint8_t file_type, uint8_t enc, uint8_t ctype)
{
	const char *version = libpff_get_version();
	if (version == NULL || strcmp(version, PFF_MIRROR_VERSION) != 0)
		return "libpff version is not " PFF_MIRROR_VERSION;
	const mirror_internal_file_t *f = (const mirror_internal_file_t *) file;
	if (f->io_handle == NULL || f->file_io_handle == NULL || f->descriptors_index == NULL ||
	    f->offsets_index == NULL)
		return "internal pointers are NULL";
	if (f->io_handle->file_size != (uint64_t) size)
		return "io_handle.file_size differs from libpff_file_get_size";
	if (f->io_handle->file_type != file_type)
		return "io_handle.file_type differs from libpff_file_get_type";
	if (f->io_handle->encryption_type != enc)
		return "io_handle.encryption_type differs from libpff_file_get_encryption_type";
	if (f->content_type != (int) ctype)
		return "content_type differs from libpff_file_get_content_type";
	if (f->descriptors_index->io_handle != f->io_handle || f->offsets_index->io_handle != f->io_handle)
		return "index io_handle pointers differ";
	if (f->descriptors_index->index_tree == NULL || f->offsets_index->index_tree == NULL)
		return "index trees are NULL";
	return NULL;
}

/* ------------------------------------------------------------------------ */

static void usage(void)
{
	fputs("usage: pff_nodes [--max-depth N] [--recover] [--no-internal] [--no-unallocated] [--names] [--timing] "
	      "[--verbose] FILE\n",
	      stderr);
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	int opt_recover = 0, opt_internal = 1, opt_unallocated = 1, opt_timing = 0, opt_verbose = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--max-depth") == 0 && i + 1 < argc) {
			char *end = NULL;
			long v = strtol(argv[++i], &end, 10);
			if (!end || *end || v < 0 || v > 100000) {
				usage();
				return 2;
			}
			opt_max_depth = (int) v;
		} else if (strcmp(argv[i], "--recover") == 0) {
			opt_recover = 1;
		} else if (strcmp(argv[i], "--no-internal") == 0) {
			opt_internal = 0;
		} else if (strcmp(argv[i], "--no-unallocated") == 0) {
			opt_unallocated = 0;
		} else if (strcmp(argv[i], "--names") == 0) {
			opt_names = 1;
		} else if (strcmp(argv[i], "--timing") == 0) {
			opt_timing = 1;
		} else if (strcmp(argv[i], "--verbose") == 0) {
			opt_verbose = 1;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			usage();
			return 2;
		} else if (path == NULL) {
			path = argv[i];
		} else {
			usage();
			return 2;
		}
	}
	if (path == NULL) {
		usage();
		return 2;
	}
	out = stdout;

	libpff_error_t *error = NULL;
	libpff_file_t *file = NULL;
	char msg[512];
	double t0 = now_ms();

	if (opt_verbose) {
		libpff_notify_set_verbose(1);
		if (libpff_notify_set_stream(stderr, &error) != 1)
			libpff_error_free(&error);
	}
	if (libpff_file_initialize(&file, &error) != 1) {
		error_text(&error, msg, sizeof msg);
		fprintf(stderr, "pff_nodes: libpff_file_initialize: %s\n", msg);
		return 1;
	}
	if (libpff_file_open(file, path, LIBPFF_OPEN_READ, &error) != 1) {
		error_text(&error, msg, sizeof msg);
		fprintf(stderr, "pff_nodes: libpff cannot open %s: %s\n", path, msg);
		libpff_file_free(&file, NULL);
		return 1;
	}
	double t_open = now_ms();

	long long real_size = -1;
	struct stat st;
	if (stat(path, &st) == 0)
		real_size = (long long) st.st_size;

	size64_t size = 0;
	uint8_t ctype = 0, ftype = 0, enc = 0;
	int have_size = libpff_file_get_size(file, &size, &error);
	if (have_size != 1)
		libpff_error_free(&error);
	int have_ctype = libpff_file_get_content_type(file, &ctype, &error);
	if (have_ctype != 1)
		libpff_error_free(&error);
	int have_ftype = libpff_file_get_type(file, &ftype, &error);
	if (have_ftype != 1)
		libpff_error_free(&error);
	int have_enc = libpff_file_get_encryption_type(file, &enc, &error);
	if (have_enc != 1)
		libpff_error_free(&error);
	int corrupted = libpff_file_is_corrupted(file, &error);
	if (corrupted == -1)
		libpff_error_free(&error);

	const char *internal_reason = NULL;
	if (!opt_internal)
		internal_reason = "disabled by --no-internal";
	else
		internal_reason = check_internals(file, size, ftype, enc, ctype);
	internals_ok = internal_reason == NULL;

	fputs("{\"tool\":\"pff_nodes\",\"libpff_version\":", out);
	json_string(libpff_get_version());
	fputs(",\"file\":", out);
	json_string(path);
	if (real_size >= 0)
		fprintf(out, ",\"file_size\":%lld", real_size);
	if (have_size == 1) /* libpff_file_get_size: the header's ROOT.ibFileEof */
		fprintf(out, ",\"libpff_size\":%" PRIu64, (uint64_t) size);
	fputs(",\"content_type\":", out);
	json_string(have_ctype != 1                               ? "unknown"
	            : ctype == LIBPFF_FILE_CONTENT_TYPE_PST ? "pst"
	            : ctype == LIBPFF_FILE_CONTENT_TYPE_OST ? "ost"
	            : ctype == LIBPFF_FILE_CONTENT_TYPE_PAB ? "pab"
	                                                    : "unknown");
	fputs(",\"format\":", out);
	json_string(have_ftype != 1                                  ? "unknown"
	            : ftype == LIBPFF_FILE_TYPE_32BIT          ? "ansi"
	            : ftype == LIBPFF_FILE_TYPE_64BIT          ? "unicode"
	            : ftype == LIBPFF_FILE_TYPE_64BIT_4K_PAGE ? "unicode_4k"
	                                                       : "unknown");
	fputs(",\"encryption\":", out);
	json_string(have_enc != 1                                       ? "unknown"
	            : enc == LIBPFF_ENCRYPTION_TYPE_NONE         ? "none"
	            : enc == LIBPFF_ENCRYPTION_TYPE_COMPRESSIBLE ? "compressible"
	            : enc == LIBPFF_ENCRYPTION_TYPE_HIGH         ? "high"
	                                                         : "unknown");
	fprintf(out, ",\"is_corrupted\":%s", corrupted == 1 ? "true" : corrupted == 0 ? "false" : "null");

	/* Well-known items. */
	struct {
		const char *key;
		int (*get)(libpff_file_t *, libpff_item_t **, libpff_error_t **);
	} known[] = {{"message_store", libpff_file_get_message_store},
	             {"name_to_id_map", libpff_file_get_name_to_id_map},
	             {"root_folder", libpff_file_get_root_folder}};
	for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) {
		libpff_item_t *it = NULL;
		uint32_t id = 0;
		int r = known[k].get(file, &it, &error);
		fprintf(out, ",\"%s\":", known[k].key);
		if (r == 1 && it != NULL && libpff_item_get_identifier(it, &id, &error) == 1)
			fprintf(out, "%" PRIu32, id);
		else {
			libpff_error_free(&error);
			fputs("null", out);
		}
		if (it)
			libpff_item_free(&it, NULL);
	}

	/* Item tree from the virtual root, then orphans, then recovered. */
	fputs(",\n\"items\":[\n", out);
	first_item = 1;
	libpff_item_t *root = NULL;
	if (libpff_file_get_root_item(file, &root, &error) == 1 && root != NULL) {
		walk_item(root, "tree", 0, 0, 1);
		libpff_item_free(&root, NULL);
	} else {
		errors_t errs = {0};
		add_error(&errs, "libpff_file_get_root_item", &error);
		begin_item();
		fputs("{\"origin\":\"tree\",\"virtual\":true", out);
		json_errors(&errs);
		fputc('}', out);
		counts.errors++;
	}
	int n_orphans = 0;
	if (libpff_file_get_number_of_orphan_items(file, &n_orphans, &error) != 1) {
		libpff_error_free(&error);
		n_orphans = 0;
	}
	for (int i = 0; i < n_orphans; i++) {
		libpff_item_t *it = NULL;
		if (libpff_file_get_orphan_item_by_index(file, i, &it, &error) == 1 && it != NULL) {
			walk_item(it, "orphan", 0, 0, 0);
			libpff_item_free(&it, NULL);
		} else {
			libpff_error_free(&error);
			counts.errors++;
		}
	}
	double t_walk = now_ms(), t_recover = t_walk;
	int recover_status = 0, n_recovered = 0;
	char recover_msg[512] = "";
	if (opt_recover) {
		recover_status = libpff_file_recover_items(file, 0, &error);
		if (recover_status != 1)
			error_text(&error, recover_msg, sizeof recover_msg);
		if (libpff_file_get_number_of_recovered_items(file, &n_recovered, &error) != 1) {
			libpff_error_free(&error);
			n_recovered = 0;
		}
		for (int i = 0; i < n_recovered; i++) {
			libpff_item_t *it = NULL;
			if (libpff_file_get_recovered_item_by_index(file, i, &it, &error) == 1 && it != NULL) {
				walk_item(it, "recovered", 0, 0, 0);
				libpff_item_free(&it, NULL);
			} else {
				libpff_error_free(&error);
				counts.errors++;
			}
		}
		t_recover = now_ms();
	}
	fputs("\n]", out);
	fprintf(out,
	        ",\n\"counts\":{\"tree\":%ld,\"orphan\":%ld,\"recovered\":%ld,\"attachment\":%ld,\"embedded\":%ld,"
	        "\"recipients\":%ld,\"items_with_errors\":%ld,\"depth_limited\":%ld}",
	        counts.tree, counts.orphan, counts.recovered, counts.attachment, counts.embedded, counts.recipients,
	        counts.errors, counts.depth_limited);
	if (opt_recover) {
		fprintf(out, ",\n\"recover\":{\"ok\":%s", recover_status == 1 ? "true" : "false");
		if (recover_status != 1) {
			fputs(",\"error\":", out);
			json_string(recover_msg);
		}
		fputc('}', out);
	}

	/* AMap/PMap free ranges. */
	if (opt_unallocated) {
		static const struct {
			const char *key;
			int type;
		} kinds[] = {{"data", LIBPFF_UNALLOCATED_BLOCK_TYPE_DATA}, {"page", LIBPFF_UNALLOCATED_BLOCK_TYPE_PAGE}};
		fputs(",\n\"unallocated\":{", out);
		if (ftype == LIBPFF_FILE_TYPE_64BIT_4K_PAGE)
			fputs("\"reliable\":false,\"why\":\"libpff 20180714 reads a 4k AMap bit as 64 bytes; it is 512\",", out);
		else
			fputs("\"reliable\":true,", out);
		for (size_t k = 0; k < 2; k++) {
			int n = 0;
			fprintf(out, "%s\"%s\":", k ? "," : "", kinds[k].key);
			if (libpff_file_get_number_of_unallocated_blocks(file, kinds[k].type, &n, &error) != 1) {
				error_text(&error, msg, sizeof msg);
				fputs("{\"error\":", out);
				json_string(msg);
				fputc('}', out);
				continue;
			}
			fputc('[', out);
			for (int i = 0; i < n; i++) {
				off64_t off = 0;
				size64_t sz = 0;
				if (libpff_file_get_unallocated_block(file, kinds[k].type, i, &off, &sz, &error) != 1) {
					libpff_error_free(&error);
					continue;
				}
				fprintf(out, "%s[%" PRId64 ",%" PRIu64 "]", i ? "," : "", (int64_t) off, (uint64_t) sz);
			}
			fputc(']', out);
		}
		fputc('}', out);
	}

	/* libpff's own NBT and BBT, through its private structures. */
	double t_int0 = now_ms();
	fputs(",\n\"internal\":{\"available\":", out);
	if (!internals_ok) {
		fputs("false,\"reason\":", out);
		json_string(internal_reason);
		fputc('}', out);
	} else {
		const mirror_internal_file_t *f = (const mirror_internal_file_t *) file;
		index_walk_t nbt = {0}, bbt = {0};
		nbt.name = "nbt";
		nbt.is_nbt = 1;
		nbt.index = f->descriptors_index;
		nbt.file_io_handle = (intptr_t *) f->file_io_handle;
		bbt.name = "bbt";
		bbt.is_nbt = 0;
		bbt.four_k = ftype == LIBPFF_FILE_TYPE_64BIT_4K_PAGE;
		bbt.index = f->offsets_index;
		bbt.file_io_handle = (intptr_t *) f->file_io_handle;
		walk_index(&nbt);
		walk_index(&bbt);
		fputs("true,\n", out);
		emit_index(&nbt);
		fputs(",\n", out);
		emit_index(&bbt);
		fputc('}', out);
	}
	double t_int1 = now_ms();

	if (opt_timing)
		fprintf(out, ",\n\"timing_ms\":{\"open\":%.1f,\"walk\":%.1f,\"recover\":%.1f,\"internal\":%.1f}", t_open - t0,
		        t_walk - t_open, t_recover - t_walk, t_int1 - t_int0);
	fputs("}\n", out);

	if (libpff_file_close(file, &error) != 0)
		libpff_error_free(&error);
	libpff_file_free(&file, NULL);
	return 0;
}

// A message as the messaging layer stores it ([MS-PST] 2.4.5, 2.4.6): its
// Property Context, its recipient table and its attachments (each a PC in
// a subnode, possibly holding an embedded message of its own). Whatever
// cannot be read is named in `issues` and `defects`; the rest is kept.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "parsers/pst/messaging.h"

namespace mailfsck::pst {

struct Attachment;

struct Message {
    NodeRef ref;
    PropertyContext properties;
    std::optional<TableContext> recipients;
    std::optional<TableContext> attachment_table;
    std::vector<Attachment> attachments;
    std::vector<ReadIssue> issues;
    std::vector<std::string> defects;  // LTP-level: heap, BTH, PC, TC
};

struct Attachment {
    std::uint32_t nid = 0;
    PropertyContext properties;
    std::unique_ptr<Message> embedded;  // PR_ATTACH_METHOD 5
    // PR_ATTACH_METHOD 6: the OLE storage its PtypObject names, nullopt
    // when that subnode cannot be read (empty when not read, read_message).
    std::optional<std::vector<unsigned char>> object;
    bool missing = false;  // listed in the attachment table, not among the subnodes
};

// Embedded messages nest; no real message goes deeper than a few.
inline constexpr unsigned max_embedding_depth = 8;

// Attachment rows read for one message, its embedded messages' included.
// Far beyond any real message; it also keeps a rebuilt message within one
// subnode tree ([MS-PST] 2.2.2.8.3.3: an SIBLOCK of SLBLOCKs, 173,400
// entries in a Unicode PST) beside the subnodes of up to 65,536 large
// property values. An ANSI or 4K OST tree holds more.
inline constexpr std::uint32_t max_attachments = 65'536;

// `attachments`: what becomes of attachments' data and OLE objects
// (SubnodeValues); one checked, not kept, is present and empty. A node that a message's tree names a second time (by its blocks) is
// read once; the repeats, nesting deeper than max_embedding_depth and
// rows past max_attachments are named once among the top message's
// defects.
[[nodiscard]] Message read_message(const Messaging& messaging, const NodeRef& node,
                                   SubnodeValues attachments = SubnodeValues::kept);

// Property ids the export and the checks use ([MS-OXPROPS]).
namespace tag {
inline constexpr std::uint16_t message_class = 0x001A;
inline constexpr std::uint16_t subject = 0x0037;
inline constexpr std::uint16_t client_submit_time = 0x0039;
inline constexpr std::uint16_t sent_representing_name = 0x0042;
inline constexpr std::uint16_t sent_representing_email = 0x0065;
inline constexpr std::uint16_t transport_headers = 0x007D;
inline constexpr std::uint16_t recipient_type = 0x0C15;
inline constexpr std::uint16_t sender_name = 0x0C1A;
inline constexpr std::uint16_t sender_email = 0x0C1F;
inline constexpr std::uint16_t delivery_time = 0x0E06;
inline constexpr std::uint16_t message_flags = 0x0E07;
inline constexpr std::uint16_t message_size = 0x0E08;
inline constexpr std::uint16_t attach_size = 0x0E20;
inline constexpr std::uint16_t body = 0x1000;
inline constexpr std::uint16_t rtf_compressed = 0x1009;
inline constexpr std::uint16_t html = 0x1013;
inline constexpr std::uint16_t internet_message_id = 0x1035;
inline constexpr std::uint16_t display_name = 0x3001;
inline constexpr std::uint16_t address_type = 0x3002;
inline constexpr std::uint16_t email_address = 0x3003;
inline constexpr std::uint16_t creation_time = 0x3007;
inline constexpr std::uint16_t last_modification_time = 0x3008;
inline constexpr std::uint16_t search_key = 0x300B;
inline constexpr std::uint16_t content_count = 0x3602;
inline constexpr std::uint16_t content_unread = 0x3603;
inline constexpr std::uint16_t subfolders = 0x360A;
inline constexpr std::uint16_t container_class = 0x3613;
inline constexpr std::uint16_t attach_data = 0x3701;
inline constexpr std::uint16_t attach_extension = 0x3703;
inline constexpr std::uint16_t attach_filename = 0x3704;
inline constexpr std::uint16_t attach_method = 0x3705;
inline constexpr std::uint16_t attach_long_filename = 0x3707;
inline constexpr std::uint16_t attach_mime_tag = 0x370E;
inline constexpr std::uint16_t attach_content_id = 0x3712;
inline constexpr std::uint16_t smtp_address = 0x39FE;
inline constexpr std::uint16_t sender_smtp = 0x5D01;
inline constexpr std::uint16_t sent_representing_smtp = 0x5D02;
inline constexpr std::uint16_t internet_codepage = 0x3FDE;
inline constexpr std::uint16_t message_codepage = 0x3FFD;
inline constexpr std::uint16_t pst_password = 0x67FF;  // the CRC-32 of the store's password
}  // namespace tag

// A string property as UTF-8: PtypString from UTF-16LE (an unpaired
// surrogate becomes U+FFFD and sets *invalid), PtypString8 from
// `codepage` (Windows code page number; 0: windows-1252). Other types give
// nullopt.
[[nodiscard]] std::optional<std::string> utf8(const Property& p, std::uint32_t codepage = 0, bool* invalid = nullptr);

// Whether a PtypString's value is well-formed UTF-16LE (what utf8 would
// flag invalid), without converting it; true for other types.
[[nodiscard]] bool well_formed_utf16(const Property& p);

// PR_ATTACH_METHOD ([MS-OXCMSG] 2.2.2.9) as read: by value (1) when it is
// absent or unsound (sound_value), as a rebuilt store, which leaves an
// unsound value out, reads it.
[[nodiscard]] std::uint64_t attach_method(const PropertyContext& pc);

// Whether an attachment's content was read, by its method (attach_method):
// by value (1) its binary data, an embedded message (5) the message, an OLE
// object (6) the object; by reference (2-4, 7) there is nothing beyond the
// reference. MIME export and the PST writer carry only such attachments:
// one without its content would be a rebuilt store's damage.
[[nodiscard]] bool content_read(const Attachment& a);

// What an export of a message would be without, one line each as the
// report names it ("HTML body unreadable", "attachment 2 (a.pdf)
// unreadable"), its embedded messages' included: a body value that cannot
// be read, an RTF body (the body when neither plain text nor HTML can be
// had) that decompresses to nothing, or to less than it states, or fails
// its CRC (written as far as it decompresses), attachments without
// content_read.
// Checks and exports both count a message partial by it.
[[nodiscard]] std::vector<std::string> unreadable_parts(const Message& m);

// PR_SUBJECT as UTF-8, without the prefix marker ([MS-OXCMSG] 2.2.1.46).
[[nodiscard]] std::string subject_of(const Message& m);

// What names an attachment: its long file name, else its file name, else
// its display name; "" when none is there.
[[nodiscard]] std::string attachment_name(const Attachment& a, std::uint32_t codepage);

// One row of a message's recipient table, as text.
struct Recipient {
    unsigned type = 1;  // PR_RECIPIENT_TYPE: 1 To, 2 Cc, 3 Bcc
    std::string name;
    std::string address;  // SMTP address; "" when the row has none
};
[[nodiscard]] std::vector<Recipient> recipients_of(const Message& m);

// The code page a message's 8-bit strings use: PR_INTERNET_CPID, else
// PR_MESSAGE_CODEPAGE, else 0.
[[nodiscard]] std::uint32_t codepage_of(const PropertyContext& pc);

}  // namespace mailfsck::pst

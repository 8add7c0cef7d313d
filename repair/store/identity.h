// Message identity for duplicate detection and `verify --against`.
//
// Two copies of a message are "the same" when their Message-ID and their
// normalised content agree. Normalisation removes what stores, not senders,
// change: line endings (CRLF/LF), From-quoting (any number of '>' before
// "From "), trailing empty lines, and the status headers mail stores add
// and rewrite (Status, X-UID, X-Mozilla-Status, Content-Length, ...).
// A message converted into a PST and read back as MIME is another text of
// the same message: its facts (what a PST keeps of it) still agree.
#pragma once

#include <string>
#include <vector>

#include "parsers/bytes/bytes.h"

namespace mailfsck {

struct MessageIdentity {
    std::string message_id;  // as written, angle brackets included; may be empty
    std::string content_sha256;
};

// `pieces` hold whole lines from the first header line to the message's end.
[[nodiscard]] MessageIdentity identify(const std::vector<ByteView>& pieces);

// A hash of the message as a PST holds it (repair/pst_writer/from_mime.h):
// its Message-ID, subject, plain body (line ends and From-quoting
// normalised) and attachments' bytes. Converting costs far more than
// hashing, so only a comparison across formats asks for it, and it asks
// the same of both sides: a PST message's facts are those of the MIME
// text composed from it, never of its properties read directly, or a
// difference in composing would read as a changed message.
[[nodiscard]] std::string message_facts(const std::vector<ByteView>& pieces);

}  // namespace mailfsck

// From framed segments to findings and salvaged messages, for every text
// store: an mbox holds many framed messages, a Maildir or .eml file one.
// Each kind of damage is judged, repaired and accounted for here, one way,
// whatever the container.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "parsers/mbox/framer.h"
#include "repair/log/salvage_log.h"
#include "repair/store/sink.h"

namespace mailfsck {

enum class Container {
    mbox,          // findings take MBOX codes
    message_file,  // findings take MSG codes and name the file
};

// A message the checker keeps, as repair will write it.
struct Salvaged {
    OutMessage out;
    bool partial = false;
    // Where this message's findings begin in the log, so the multiparts
    // repair closes can be marked fixed; a finding past its kind's cap is
    // not listed, so there is nothing to mark.
    std::size_t first_finding = 0;
};

class SegmentSalvager {
public:
    // `file` is the message file's name (escaped) for Container::message_file.
    SegmentSalvager(ByteView in, Container container, StoreLog& log, ByteLedger& ledger, MessageSink* sink,
                    std::string file = {});

    void junk(const mbox::Segment& s);
    void fragment(const mbox::Segment& s);

    // Records the message's findings and builds what repair writes; nullopt
    // when it is no message and went to lost+found whole. `cut_short` says
    // the container's evidence that the message lost its end (the store
    // ended there; a message file shorter than its name says).
    [[nodiscard]] std::optional<Salvaged> prepare(const mbox::Segment& s, std::uint64_t no, bool cut_short);

    // Accounts for the message's bytes, counts it, and hands it to the sink.
    void keep(const mbox::Segment& s, std::uint64_t no, Salvaged& m);

    // Bytes that fit no message, copied to lost+found.
    void quarantine(std::uint64_t offset, std::uint64_t length, std::string reason,
                    std::optional<std::uint64_t> message_no, std::uint64_t header_begin = 0);

    // Who a message is (Message-ID, Date, From, Subject), for the report.
    [[nodiscard]] LostItem describe(std::uint64_t header_begin, std::uint64_t message_no) const;

private:
    void record_defects(const mbox::Segment& s, std::optional<std::uint64_t> no);
    Finding& add(ProblemId id, std::uint64_t offset, std::uint64_t length, std::string structure,
                 std::optional<std::uint64_t> no, std::string detail = {});
    [[nodiscard]] ProblemId problem_for(mbox::DefectKind k) const;
    [[nodiscard]] std::vector<ByteView> salvaged_pieces(const mbox::Segment& s) const;
    [[nodiscard]] bool needs_header_end(const mbox::Segment& s) const;
    [[nodiscard]] bool damage_took_header_end(const mbox::Segment& s) const;

    ByteView in_;
    Container container_;
    StoreLog& log_;
    ByteLedger& ledger_;
    MessageSink* sink_;
    std::string file_;
    // The worst finding of the message being salvaged: the log may keep
    // only a count of a kind that repeats (StoreLog::omitted).
    Severity message_worst_ = Severity::info;
};

}  // namespace mailfsck

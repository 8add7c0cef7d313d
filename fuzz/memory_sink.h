// For fuzz targets' round trips: MessageSinks that write into memory
// (messages in the form `Write` gives them, or a new PST; everything else
// dropped), the check that a PST written so rescans clean, and the report
// that ends a round trip that failed.
#pragma once

#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>

#include "fuzz/libpff_reader.h"
#include "repair/log/salvage_log.h"
#include "repair/store/pst_output.h"
#include "repair/store/sink.h"
#include "repair/store/store.h"

namespace mailfsck::fuzz {

[[noreturn]] inline void fail_round_trip(const char* why, const StoreLog& log) {
    std::fprintf(stderr, "round trip: %s\n", why);
    for (const auto& f : log.findings)
        std::fprintf(stderr, "  %s @%llu+%llu %s\n", std::string(problem(f.id).code).c_str(),
                     static_cast<unsigned long long>(f.offset), static_cast<unsigned long long>(f.length),
                     f.detail.c_str());
    std::abort();
}

struct MemoryFile final : pstw::RandomOut {
    std::string bytes;
    void write_at(std::uint64_t offset, ByteView b) override {
        if (bytes.size() < offset + b.size()) bytes.resize(offset + b.size());
        std::copy_n(b.data(), b.size(), bytes.begin() + static_cast<std::ptrdiff_t>(offset));
    }
};

// Every message into memory in the form `Write` gives it and, when a mail
// root is given (PstOutput's `mail_root`), also into a new PST; everything
// else dropped.
template <void (*Write)(ByteOut&, const OutMessage&)>
class MemorySink final : public MessageSink {
public:
    MemorySink() = default;
    explicit MemorySink(const std::optional<std::string>& pst_mail_root) {
        if (pst_mail_root) pst.emplace(file, "fuzz", *pst_mail_root);
    }
    void begin_store(const StoreInfo& info) override {
        if (pst) pst->begin_store(info);
    }
    void begin_folder(const std::string& folder, const FolderInfo& info) override {
        if (pst) pst->begin_folder(folder, info);
    }
    void message(const OutMessage& m) override {
        Write(out, m);
        if (pst) pst->message(m);
        ++written;
    }
    [[nodiscard]] bool keeps_associated() const override { return pst.has_value(); }
    void associated(const std::string& folder, const pst::Message& item, const pst::NameMap* names) override {
        pst->associated(folder, item, names);
    }
    void lost_found(const std::string& /*file*/, std::uint64_t /*offset*/,
                    const std::vector<ByteView>& /*pieces*/) override {}
    void uid_index(const std::string& /*folder*/, const UidIndex& /*index*/) override {}
    void store_file(const std::string& /*folder*/, const std::string& /*name*/, const ByteView& /*bytes*/,
                    std::optional<std::int64_t> /*mtime*/) override {}
    void finish() override {
        if (pst) pst->finish();
    }
    [[nodiscard]] std::uint64_t messages_written() const override { return written; }
    [[nodiscard]] std::uint64_t lost_found_files() const override { return 0; }
    StringOut out;
    MemoryFile file;
    std::optional<PstOutput> pst;
    std::uint64_t written = 0;
};

// A PST the writer made rescans clean, holding every message written, and
// libpff finds them all in its folder tree.
inline void check_rebuilt_pst(std::string& bytes, std::uint64_t written) {
    OpenStore rebuilt;
    rebuilt.path = "rebuilt.pst";
    rebuilt.format = StoreFormat::pst;
    rebuilt.source = Source::in_memory(ByteView(bytes));
    StoreLog again;
    // Every message composed, as verify does: a part the writer copied
    // without its content is found only then.
    CheckHooks compose;
    compose.on_message = [](std::uint64_t, std::uint64_t, const std::vector<ByteView>&) {};
    check_store(rebuilt, again, nullptr, compose);
    for (const auto& f : again.findings)
        if (problem(f.id).severity >= Severity::warning) fail_round_trip("the rebuilt PST is not clean", again);
    if (again.messages.found != written) fail_round_trip("the rebuilt PST holds a different number of messages", again);
    const std::optional<std::uint64_t> theirs = libpff_messages(bytes);
    if (!theirs) fail_round_trip("libpff cannot open the rebuilt PST", again);
    if (*theirs != written) fail_round_trip("libpff finds a different number of messages in the rebuilt PST", again);
}

}  // namespace mailfsck::fuzz

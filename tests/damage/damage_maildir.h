// Deterministic, seeded damage for Maildir trees, and clean Maildirs built
// from message bytes.
//
// A Maildir's damage lives in its names and its directories as much as in
// its bytes, so the unit of work is a tree: the clean input is copied to a
// new directory and one op is applied to the copy. The input is only read.
// The copy keeps what Maildir readers give meaning to: mtimes (Dovecot and
// the tmp/ cleaners read them) of files, symlinks and directories, and
// permissions; symlinks are copied as symlinks and never followed, so no
// write can reach outside the copy. Ownership, hard links between files and
// extended attributes are not reproduced.
//
// Files the op rewrites or renames keep their mtime and the directories
// theirs, as after damage done behind the indexer's back; the damaged tree
// thus depends only on the input, the op and the seed. A duplicate gets its
// source's dates; the stray tmp/ file, and any directory an op has to create,
// get a fixed one (stray_tmp_mtime).
//
// Each op makes one fault and no other: a renamed message (wrong-size) is
// not renamed in the uidlists, which then name a file that is gone, exactly
// as when a tool outside the indexer renames it.
//
// Draws use the same bounded draw on std::mt19937_64 as damage.h, for the
// same reason: a seed must mean the same damage with every standard library.
// Candidates are sorted by relative path (bytewise) before drawing, because
// directory order is up to the filesystem.
//
// Messages are the regular files, not named ".*", directly inside a
// directory called cur or new, at any depth (Maildir++ folders included).
// Names are split at their info the way the common writers do: at the first
// ':', or else at a "!1,"/"!2,"/";1,"/";2," (stores on filesystems without
// ':'); what comes before is the base name that uidlists record.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace mailfsck::damage {

enum class MaildirOp {
    truncate_file,        // one message cut short, keeping >= 1 byte and losing >= 1
    zero_file,            // one non-empty message made zero-length
    stray_tmp,            // a copy of a message, whole or cut short, left in tmp/ with an old mtime
    wrong_size,           // one message renamed so its ",S=" disagrees with its size
    duplicate_base,       // one message copied from cur/ to new/ (or back) under the same base name
    remove_uidlist_line,  // one entry line deleted from a dovecot-uidlist or courierimapuiddb
};

// 2000-01-01T00:00:00Z: old enough that any tmp/ cleaner (Dovecot: 36 hours)
// takes the stray file for abandoned.
inline constexpr std::int64_t stray_tmp_mtime = 946684800;
// The stray file's name in tmp/ (a "-<n>" suffix is added if it is taken):
// a delivery-style unique name that no built message uses.
inline constexpr std::string_view stray_tmp_name = "946684800.M0P0.mailfsck-damage";

[[nodiscard]] std::string_view maildir_op_name(MaildirOp op);
[[nodiscard]] std::optional<MaildirOp> parse_maildir_op(std::string_view name);
[[nodiscard]] const std::vector<MaildirOp>& all_maildir_ops();

struct MaildirRequest {
    MaildirOp op = MaildirOp::truncate_file;
    std::uint64_t seed = 0;
};

// Copies the tree at `in` to `out`, which must not exist (its parent must),
// and applies `request.op` to the copy. Returns the manifest:
//   tool "mailfsck-damage", store "maildir", op, seed,
//   injected     false when the tree offers the op no place (no message, no
//                uidlist entry...); then `reason` says why and the copy is
//                identical to the input,
//   candidates   how many places the op drew from,
//   input        {entries (below the root), sha256: tree_sha256(in)},
//   output       {entries, sha256: tree_sha256(out)},
//   damage       [] or one object with op and the op's fields; paths are
//                relative to the tree root, in generic ('/') form:
//     truncate-file  path, original_size, original_sha256, size, sha256,
//                    removed_sha256 (of the bytes cut off)
//     zero-file      path, original_size, original_sha256, size (0), sha256
//     stray-tmp      variant ("complete" | "cut"), source, path, created_tmp_dir,
//                    original_size, original_sha256 (the source's), size,
//                    sha256, mtime (stray_tmp_mtime)
//     wrong-size     path (old name), new_path, size (real, unchanged), sha256,
//                    named_size_before (null when the name had none),
//                    named_size (the new, wrong value), added_size_field
//     duplicate-base source, path, base, created_dir, size, sha256
//     remove-uidlist-line  path, line (1-based, header is line 1), offset,
//                    length, removed_line (without its line end),
//                    removed_sha256, original_size, original_sha256, size, sha256
// Paths and lines are stored as bytes; a name that is not UTF-8 makes the
// manifest need a replacing dump (the tool does that).
// Throws std::invalid_argument when `in` is not a directory, `out` exists or
// lies inside `in`, and std::runtime_error (or filesystem_error) when the
// copy fails, e.g. on a FIFO or an unreadable file in the input.
[[nodiscard]] nlohmann::json damage_maildir(const std::filesystem::path& in, const std::filesystem::path& out,
                                            const MaildirRequest& request);

// A fingerprint of a tree's names and bytes, metadata aside: SHA-256 over
// each entry in bytewise order of relative path, as "<d|f|l|?> <path>\0"
// followed by "<content sha256 hex>\0" for a file or "<target>\0" for a
// symlink. Symlinks are not followed.
[[nodiscard]] std::string tree_sha256(const std::filesystem::path& root);

struct MaildirLayout {
    // Every new_every-th message (the 3rd, 6th... for 3) is delivered to new/
    // rather than cur/; 0 puts all in cur/.
    std::size_t new_every = 3;
    // Also write a Dovecot v3 dovecot-uidlist listing every message, UIDs 1..n.
    bool dovecot_uidlist = false;
};

struct BuiltMaildir {
    std::vector<std::string> paths;  // relative path of messages[i]
    std::string uidlist;             // the dovecot-uidlist written, or empty
};

// Writes a clean Maildir at `dir` (created if missing): cur/, new/, tmp/,
// message i (1-based) as cur/<i>.M<i>P1.mailfsck-test,S=<size>:2,S or
// new/<i>.M<i>P1.mailfsck-test,S=<size>. Each message file gets mtime
// 1000000000 + i, so built trees are reproducible to the second.
BuiltMaildir build_maildir(const std::filesystem::path& dir, const std::vector<std::string>& messages,
                           const MaildirLayout& layout = {});

}  // namespace mailfsck::damage

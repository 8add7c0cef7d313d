// Messages whose node entries are lost, found by their own blocks.
//
// When the node B-tree has to be rebuilt from carved pages and some of its
// leaf pages are gone (a file cut short, a zeroed page), a message's
// property context and subnode tree may survive with nothing left that
// names them: no NBT entry gives their block ids, and a folder's contents
// table gives at most the message's node id. Such a message is found as a
// heap no surviving node reaches that reads as a message's property
// context, and its subnode tree (recipients, attachments, large values) as
// an unreferenced subnode tree that holds what the heap says it needs.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "parsers/pst/btree.h"
#include "parsers/pst/messaging.h"

namespace mailfsck::pst {

struct LostMessage {
    std::uint64_t bid_data = 0;
    std::uint64_t bid_sub = 0;    // 0: none needed, or none matched
    bool tree_unmatched = false;  // it needs a subnode tree and none matched
    // The node and the folder of the carved entry that names its heap (a
    // stale page's: where the message last was); 0 when none does.
    std::uint32_t nid = 0;
    std::uint32_t parent = 0;
    std::string version_key;  // see version_key(); empty when unknown
    std::uint64_t modified = 0;              // PR_LAST_MODIFICATION_TIME, 0 when absent
    // Its heap is also reached by a surviving node, fewer times than the
    // block's reference count says: a copy of a message (copies share
    // blocks) whose own entry is lost. Only a contents-table row naming a
    // node that does not exist can claim it (row_matches).
    bool shared = false;
    // The values a contents-table row repeats from its message (subject,
    // class, delivery and submit times, size), to find the row naming it.
    std::vector<Property> row_values;
};

// Whether a contents-table row describes `lost`: at least two of the
// values both have are compared, and all of those are equal.
[[nodiscard]] bool row_matches(const LostMessage& lost, const TableRow& row);

// What the versions of one message share: its search key and creation
// time. Empty when either is absent. A copy shares them too (and may be
// byte for byte the same): versions are told from copies by their
// last-modification times, which a new version advances.
[[nodiscard]] std::string version_key(const PropertyContext& pc);
[[nodiscard]] std::uint64_t modified(const PropertyContext& pc);

// Block entries in parts, read in turn: a tree's and those carving adds
// beside it, neither copied into one list.
using BlockLists = std::span<const std::vector<BbtEntry>* const>;

struct LostNodes {
    std::vector<LostMessage> messages;
    std::optional<NodeRef> name_map;
};

// Messages and the name-to-id map whose node entries are lost, in one pass
// over the heaps no node reaches. `blocks`: every block the index holds;
// `references(bid)`: how many nodes that have entries reach the block.
//
// A heap is taken as a message when its property context has a message
// class and it is not a folder-associated item. Of several heaps with the
// same version key, those modified before the latest are superseded
// versions and left out; copies (modified at the same time) are kept.
//
// A subnode tree is paired with a message when it holds every subnode the
// heap names, the recipients table when the heap lists recipients, and the
// attachment table when the heap has attachments; and when, read together,
// every recipient's name is among those the heap lists and there are
// attachments exactly when the heap says so. Among the trees that pass,
// the one nearest by block id is taken (a message's blocks are written
// together). Each tree serves at most one message. A heap that one of
// `carved_entries` names (node entries of carved NBT pages, stale ones
// among them) takes the entry's node and folder, and the subnode tree it
// gives when that tree's block is there: the entry says which tree is the
// heap's, where nearness only guesses; such heaps are paired first, so no
// guess takes their trees.
//
// The name-to-id map ([MS-PST] 2.4.7) is the newest unreferenced heap that
// is_name_map() accepts, with the nearest subnode tree holding the
// subnodes it names (its streams, once large).
[[nodiscard]] LostNodes find_lost_nodes(const Messaging& m, BlockLists blocks,
                                        const std::function<unsigned(std::uint64_t)>& references,
                                        std::span<const NbtEntry> carved_entries = {});

}  // namespace mailfsck::pst

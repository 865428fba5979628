#include "rules/network_policy.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "rules/ambient.h"

namespace ambient_guard::netpol {

bool hasType(const NetworkPolicy& np, Direction dir) {
  const char* want = dir == Direction::kIngress ? "Ingress" : "Egress";
  if (!np.policy_types.empty()) {
    return std::find(np.policy_types.begin(), np.policy_types.end(), want) !=
           np.policy_types.end();
  }
  return dir == Direction::kIngress || !np.egress.empty();
}

std::vector<const NetworkPolicy*> selecting(const ClusterView& state, std::string_view ns,
                                            const Labels& pod_labels, Direction dir) {
  std::vector<const NetworkPolicy*> out;
  for (const NetworkPolicy* np : state.list<NetworkPolicy>(ns)) {
    if (hasType(*np, dir) && selectorMatches(np->pod_selector, pod_labels)) {
      out.push_back(np);
    }
  }
  return out;
}

namespace {

bool isTcp(const NetworkPolicyPort& p) { return p.protocol.empty() || p.protocol == "TCP"; }

}  // namespace

bool portAllows(const NetworkPolicyRule& rule, int32_t port,
                const std::vector<ContainerPort>& container_ports) {
  if (rule.ports.empty()) {
    return true;  // types.go:113-117
  }
  for (const auto& p : rule.ports) {
    if (!isTcp(p)) {
      continue;
    }
    if (!p.has_port) {
      return true;  // types.go:165-167
    }
    if (!p.port.name.empty()) {
      for (const auto& cp : container_ports) {
        if (cp.name == p.port.name && cp.port == port &&
            (cp.protocol.empty() || cp.protocol == "TCP")) {
          return true;
        }
      }
      continue;
    }
    if (p.port.number == port) {
      return true;
    }
    if (p.end_port && p.port.number <= port && port <= *p.end_port) {
      return true;  // types.go:170-174
    }
  }
  return false;
}

namespace {

// Returns the address bytes (4 or 16) of a textual IPv4/IPv6 address, or an empty result.
std::vector<unsigned char> addressBytes(std::string_view ip) {
  std::string text(ip);
  std::array<unsigned char, 16> buf{};
  if (inet_pton(AF_INET, text.c_str(), buf.data()) == 1) {
    return {buf.begin(), buf.begin() + 4};
  }
  if (inet_pton(AF_INET6, text.c_str(), buf.data()) == 1) {
    return {buf.begin(), buf.end()};
  }
  return {};
}

}  // namespace

bool cidrContains(std::string_view cidr, std::string_view ip) {
  const size_t slash = cidr.find('/');
  const std::vector<unsigned char> net = addressBytes(cidr.substr(0, slash));
  const std::vector<unsigned char> addr = addressBytes(ip);
  if (net.empty() || net.size() != addr.size()) {
    return false;
  }
  size_t bits = net.size() * 8;
  if (slash != std::string_view::npos) {
    const std::string len(cidr.substr(slash + 1));
    if (len.empty() || len.size() > 3 ||
        !std::all_of(len.begin(), len.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return false;
    }
    bits = std::stoul(len);
    if (bits > net.size() * 8) {
      return false;
    }
  }
  for (size_t i = 0; i < net.size() && bits > 0; ++i) {
    const size_t take = std::min<size_t>(bits, 8);
    const unsigned char mask = static_cast<unsigned char>(0xFF << (8 - take));
    if ((net[i] & mask) != (addr[i] & mask)) {
      return false;
    }
    bits -= take;
  }
  return true;
}

bool peersAllowIp(const NetworkPolicyRule& rule, std::string_view ip) {
  if (rule.peers.empty()) {
    return true;  // types.go:121-125
  }
  for (const auto& peer : rule.peers) {
    if (!peer.ip_block || !cidrContains(peer.ip_block->cidr, ip)) {
      continue;
    }
    const auto& except = peer.ip_block->except;
    if (std::none_of(except.begin(), except.end(),
                     [&](const std::string& e) { return cidrContains(e, ip); })) {
      return true;  // types.go:182-194
    }
  }
  return false;
}

bool allowsFromIp(const std::vector<const NetworkPolicy*>& policies, std::string_view ip,
                  int32_t port, const std::vector<ContainerPort>& container_ports) {
  if (policies.empty()) {
    return true;  // rule 3: not isolated
  }
  for (const NetworkPolicy* np : policies) {
    for (const auto& rule : np->ingress) {
      if (portAllows(rule, port, container_ports) && peersAllowIp(rule, ip)) {
        return true;
      }
    }
  }
  return false;  // rule 4: an empty ingress list admits nothing
}

std::string_view hboneStatusName(HboneStatus status) {
  switch (status) {
    case HboneStatus::kNotIsolated:
      return "NOT-ISOLATED";
    case HboneStatus::kOpen:
      return "OPEN";
    case HboneStatus::kPartial:
      return "PARTIAL";
    case HboneStatus::kBlocked:
      return "BLOCKED";
  }
  return "BLOCKED";
}

HboneVerdict classifyHbone(const std::vector<const NetworkPolicy*>& policies, Direction dir) {
  HboneVerdict v;
  if (policies.empty()) {
    return v;
  }
  static const std::vector<ContainerPort> kNoNamedPorts;  // pods never declare 15008
  for (const NetworkPolicy* np : policies) {
    const auto& rules = dir == Direction::kIngress ? np->ingress : np->egress;
    for (size_t i = 0; i < rules.size(); ++i) {
      if (!portAllows(rules[i], kHbonePort, kNoNamedPorts)) {
        continue;
      }
      if (rules[i].peers.empty()) {
        v.status = HboneStatus::kOpen;
        v.restricted.clear();
        return v;
      }
      v.restricted.push_back({np, i});
    }
  }
  v.status = v.restricted.empty() ? HboneStatus::kBlocked : HboneStatus::kPartial;
  return v;
}

bool peerSelectsPod(const NetworkPolicyPeer& peer, std::string_view policy_ns,
                    std::string_view pod_ns, const Labels& ns_labels, const Labels& pod_labels) {
  if (peer.ip_block) {
    return false;
  }
  if (peer.namespace_selector) {
    if (!selectorMatches(*peer.namespace_selector, ns_labels)) {
      return false;
    }
  } else if (policy_ns != pod_ns) {
    return false;  // podSelector alone: the policy's own namespace (types.go:199-209)
  }
  return !peer.pod_selector || selectorMatches(*peer.pod_selector, pod_labels);
}

namespace {

std::string describeSelector(const KubeLabelSelector& s) {
  std::string out = s.match_labels.str();
  for (const auto& e : s.expressions) {
    if (!out.empty()) {
      out += ",";
    }
    out += e.key + " " + e.op;
    if (!e.values.empty()) {
      out += " (";
      for (size_t i = 0; i < e.values.size(); ++i) {
        out += (i ? "," : "") + e.values[i];
      }
      out += ")";
    }
  }
  return out.empty() ? "all" : out;
}

}  // namespace

std::string describePeers(const NetworkPolicyRule& rule) {
  if (rule.peers.empty()) {
    return "any source";
  }
  std::string out;
  for (const auto& p : rule.peers) {
    if (!out.empty()) {
      out += "; ";
    }
    if (p.ip_block) {
      out += "ipBlock " + p.ip_block->cidr;
      if (!p.ip_block->except.empty()) {
        out += " except";
        for (const auto& e : p.ip_block->except) {
          out += " " + e;
        }
      }
      continue;
    }
    if (p.namespace_selector) {
      out += "namespaces " + describeSelector(*p.namespace_selector);
      if (p.pod_selector) {
        out += " / ";
      }
    }
    if (p.pod_selector) {
      out += "pods " + describeSelector(*p.pod_selector);
    }
  }
  return out;
}

std::string describePorts(const NetworkPolicyRule& rule) {
  if (rule.ports.empty()) {
    return "all ports";
  }
  std::string out;
  for (const auto& p : rule.ports) {
    if (!out.empty()) {
      out += ", ";
    }
    const std::string proto = p.protocol.empty() ? "TCP" : p.protocol;
    if (!p.has_port) {
      out += "all/" + proto;
    } else if (!p.port.name.empty()) {
      out += p.port.name + "/" + proto;
    } else if (p.end_port) {
      out += std::to_string(p.port.number) + "-" + std::to_string(*p.end_port) + "/" + proto;
    } else {
      out += std::to_string(p.port.number) + "/" + proto;
    }
  }
  return out;
}

}  // namespace ambient_guard::netpol

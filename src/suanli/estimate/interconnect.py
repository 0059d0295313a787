"""How the chips of a training or serving job talk to each other: the scale-up domain (NVLink,
HCCS, MLU-Link: a node or a rack whose chips share a fast switch) and the scale-out network
(InfiniBand or RoCE NICs between domains).

Bandwidths are in gigabits per second per chip, *each direction*. Vendors quote NVLink-class
links as the sum of both directions in gigabytes per second (H100: "900 GB/s"), so the table
below halves and multiplies by 8 (900 GB/s → 450 GB/s each way → 3,600 Gbit/s). Scale-out is the
NIC line rate per chip (one 400 Gbit/s ConnectX-7 per GPU in an HGX H100 node).

Every row cites its source; a row marked ``assumed`` has no published network figure for that
part and takes the common configuration of its class. A caller with a known system (a rack-scale
supernode, a PCIe-only cluster) passes its own ``Interconnect`` instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from suanli.errors import ValidationError


@dataclass(frozen=True, slots=True)
class Interconnect:
    scale_up_domain_chips: int  # chips on one fast switch (8 for an HGX node, 384 for CM384)
    scale_up_gbps_per_chip: float  # each direction, per chip, inside the domain
    scale_out_gbps_per_chip: float  # each direction, per chip, between domains

    def validate(self) -> Interconnect:
        if (
            isinstance(self.scale_up_domain_chips, bool)
            or not isinstance(self.scale_up_domain_chips, int)
            or self.scale_up_domain_chips < 1
        ):
            raise ValidationError(
                "interconnect.scale_up_domain_chips", "must be a whole number ≥ 1"
            )
        for name in ("scale_up_gbps_per_chip", "scale_out_gbps_per_chip"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ValidationError(f"interconnect.{name}", f"must be > 0, got {value!r}")
            if value > 1e6:
                raise ValidationError(f"interconnect.{name}", f"must be at most 1e6, got {value}")
        return self

    @property
    def scale_up_bytes_per_s(self) -> float:
        return self.scale_up_gbps_per_chip * 1e9 / 8

    @property
    def scale_out_bytes_per_s(self) -> float:
        return self.scale_out_gbps_per_chip * 1e9 / 8

    def bytes_per_s(self, group_chips: int) -> float:
        """Per-chip bandwidth of a collective over ``group_chips`` chips: scale-up only when the
        whole group fits in one domain, otherwise the slowest hop, the scale-out NIC."""
        if group_chips <= self.scale_up_domain_chips:
            return self.scale_up_bytes_per_s
        return min(self.scale_up_bytes_per_s, self.scale_out_bytes_per_s)

    def allreduce_bytes_per_s(self, group_chips: int, stride: int = 1) -> float:
        """Per-chip bandwidth of an all-reduce over ``group_chips`` chips, ``stride`` apart.

        Across domains the reduction is hierarchical (NCCL, HCCL): reduce-scatter inside the
        domain, all-reduce of each chip's 1/k slice over its own NIC, all-gather inside; so the
        k group members that share a domain pool their NICs for one copy of the data.
        """
        if group_chips * stride <= self.scale_up_domain_chips:
            return self.scale_up_bytes_per_s
        members = max(1, min(group_chips, self.scale_up_domain_chips // max(1, stride)))
        return min(self.scale_up_bytes_per_s, self.scale_out_bytes_per_s * members)


@dataclass(frozen=True, slots=True)
class InterconnectRow:
    interconnect: Interconnect
    source: str


def _gb_s_total(gb_s_both_directions: float) -> float:
    """A vendor's bidirectional GB/s as Gbit/s each way."""
    return gb_s_both_directions / 2 * 8


# NVLink/HCCS figures are the reference table's (Table A, "Interconnect" column) unless noted.
_PCIE4_X16 = _gb_s_total(64)  # PCIe 4.0 x16: 32 GB/s each way
_PCIE5_X16 = _gb_s_total(128)  # PCIe 5.0 x16: 64 GB/s each way (Table A, H100 PCIe row)
DEFAULTS: dict[str, InterconnectRow] = {
    "nvidia-h100-sxm5-80gb": InterconnectRow(
        Interconnect(8, _gb_s_total(900), 400),
        "Table A: NVLink4 900 GB/s; HGX/DGX H100: 8 GPUs on NVSwitch, 8× 400 Gb/s ConnectX-7 "
        "(NVIDIA DGX H100 datasheet)",
    ),
    "nvidia-h200-sxm-141gb": InterconnectRow(
        Interconnect(8, _gb_s_total(900), 400),
        "Table A: NVLink4 900 GB/s; HGX H200 as HGX H100 (8 GPUs, 400 Gb/s per GPU)",
    ),
    "nvidia-h800-sxm5-80gb": InterconnectRow(
        Interconnect(8, _gb_s_total(400), 400),
        "Table A: NVLink cut to 400 GB/s; DeepSeek-V3 report (arXiv 2412.19437 s3.2.2): 8 H800 "
        "per node on NVLink/NVSwitch, InfiniBand 50 GB/s (400 Gb/s) per GPU",
    ),
    "nvidia-h20-96gb": InterconnectRow(
        Interconnect(8, _gb_s_total(900), 400),
        "Table A: NVLink 900 GB/s; HGX 8-GPU board; scale-out assumed as HGX H100",
    ),
    "nvidia-h100-pcie-80gb": InterconnectRow(
        Interconnect(2, _gb_s_total(600), 200),
        "Table A: NVLink bridge 600 GB/s joins pairs; PCIe Gen5; scale-out 200 Gb/s assumed",
    ),
    "nvidia-a100-sxm4-80gb": InterconnectRow(
        Interconnect(8, _gb_s_total(600), 200),
        "Table A: NVLink3 600 GB/s; DGX A100: 8 GPUs on NVSwitch, 8× 200 Gb/s HDR InfiniBand "
        "(NVIDIA DGX A100 datasheet)",
    ),
    "nvidia-a100-sxm4-40gb": InterconnectRow(
        Interconnect(8, _gb_s_total(600), 200),
        "NVIDIA A100 datasheet: NVLink3 600 GB/s; DGX A100 8× 200 Gb/s HDR",
    ),
    "nvidia-a800-sxm4-80gb": InterconnectRow(
        Interconnect(8, _gb_s_total(400), 200),
        "Table A: NVLink cut to 400 GB/s; 8-GPU HGX board, 200 Gb/s per GPU as DGX A100",
    ),
    "nvidia-b200": InterconnectRow(
        Interconnect(8, _gb_s_total(1800), 400),
        "Table A: NVLink5 1.8 TB/s; HGX B200 8 GPUs, 400 Gb/s ConnectX-7 per GPU",
    ),
    "amd-mi300x-192gb": InterconnectRow(
        Interconnect(8, _gb_s_total(896), 400),
        "Table A: Infinity Fabric 896 GB/s aggregate; 8-GPU OAM platform; 400 Gb/s assumed",
    ),
    "huawei-ascend-910a": InterconnectRow(
        Interconnect(4, 3 * 240 / 2, 100),
        "Table A: HCCS 3× 240 Gb/s (4 fully connected chips) + RoCE 2× 100 GbE per chip",
    ),
    "huawei-ascend-910b": InterconnectRow(
        Interconnect(8, _gb_s_total(392), 200),
        "Table A: HCCS ~392 GB/s aggregate (uncertain), 8-card Atlas 800T A2 node, RoCE 200G",
    ),
    "huawei-ascend-910c": InterconnectRow(
        Interconnect(8, _gb_s_total(784), 200),
        "Table A: 784 GB/s (Huawei roadmap); as an 8-card node; scale-out 200 Gb/s assumed "
        "(a CloudMatrix 384 supernode is its own Interconnect)",
    ),
    "cambricon-mlu370-x8": InterconnectRow(
        Interconnect(8, _gb_s_total(200), 100),
        "Table A: MLU-Link 200 GB/s per card, 8 chips all-to-all; scale-out 100 Gb/s assumed",
    ),
    "kunlunxin-r300": InterconnectRow(
        Interconnect(8, _gb_s_total(200), 100),
        "Table A: 200 GB/s bidirectional inter-chip, R480-X8 node; scale-out 100 Gb/s assumed",
    ),
}
# PCIe-only parts: the node's 8 cards talk over PCIe 4.0 x16 and a 100 Gb/s NIC per card.
for _pcie_part in ("nvidia-l20-48gb", "nvidia-l40s-48gb", "nvidia-rtx-4090-24gb"):
    DEFAULTS[_pcie_part] = InterconnectRow(
        Interconnect(8, _PCIE4_X16, 100),
        "Table A: PCIe 4.0 x16 only (no NVLink); 8-card server, 100 Gb/s per card assumed",
    )
FALLBACK = InterconnectRow(
    Interconnect(8, _PCIE5_X16 / 2, 100),
    "assumed: no interconnect figure in the catalog; an 8-card PCIe server, 100 Gb/s per card",
)


def default_for(accelerator_id: str) -> InterconnectRow:
    """The sourced default for a catalog id, or the stated fallback."""
    return DEFAULTS.get(accelerator_id, FALLBACK)

"""What the program hands pulumi-libvirt beyond plain fields (pure): XSLT for what its schema
cannot say, and values in the exact form the provider reads back, so that a second `pulumi up`
finds no difference (a difference in a domain's ForceNew field replaces the VM)."""

from __future__ import annotations

_COPY_ALL = """<?xml version="1.0"?>
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output omit-xml-declaration="yes" indent="yes"/>
  <xsl:template match="node()|@*">
    <xsl:copy><xsl:apply-templates select="node()|@*"/></xsl:copy>
  </xsl:template>
{templates}
</xsl:stylesheet>
"""


def render_tcg_xslt(tb_cache_mib: int) -> str:
    """Cap TCG's translation cache: qemu's 1 GiB default costs ~0.8 GiB of RSS per guest."""
    tcg = f"<tcg><tb-cache unit='MiB'>{tb_cache_mib}</tb-cache></tcg>"
    return _COPY_ALL.format(templates=f"""  <xsl:template match="/domain/features">
    <xsl:copy><xsl:apply-templates select="node()|@*"/>{tcg}</xsl:copy>
  </xsl:template>
  <xsl:template match="/domain[not(features)]">
    <xsl:copy><xsl:apply-templates select="node()|@*"/><features>{tcg}</features></xsl:copy>
  </xsl:template>""")


def render_no_dns_xslt() -> str:
    """DNS off on a network: pulumi-libvirt writes a <dns> element only to switch DNS on, and
    without one libvirt serves DNS on the bridge (a dnsmasq per network)."""
    return _COPY_ALL.format(templates="""  <xsl:template match="/network">
    <xsl:copy><xsl:apply-templates select="node()[not(self::dns)]|@*"/><dns enable="no"/></xsl:copy>
  </xsl:template>""")


def render_cmdlines(cmdline: str) -> list[dict[str, str]]:
    """A kernel command line as pulumi-libvirt's `cmdlines` reads it back from the domain: the
    provider writes the arguments sorted, and reads them as maps of key=value arguments (a new map
    when a key repeats) followed by one map {"_": the keyless arguments}."""
    maps: list[dict[str, str]] = []
    current: dict[str, str] = {}
    keyless = []
    for argument in sorted(cmdline.split()):
        if "=" not in argument:
            keyless.append(argument)
            continue
        key, value = argument.split("=", 1)
        if key in current:
            maps.append(current)
            current = {}
        current[key] = value
    if current:
        maps.append(current)
    if keyless:
        maps.append({"_": " ".join(keyless)})
    return maps

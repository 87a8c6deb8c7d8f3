<?xml version="1.0" encoding="utf-8"?>
<!-- Used by Runchat.PublicDocs.targets: the documentation file as users get it. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:param name="prefix" />
  <xsl:param name="supplement" />
  <xsl:output method="xml" encoding="utf-8" indent="no" />
  <xsl:template match="@*|node()"><xsl:copy><xsl:apply-templates select="@*|node()" /></xsl:copy></xsl:template>
  <!-- Added: the supplement's entries the compiler did not write. -->
  <xsl:template match="members">
    <xsl:variable name="written" select="member/@name" />
    <xsl:copy>
      <xsl:apply-templates select="@*|node()" />
      <xsl:for-each select="document($supplement)/doc/members/member[not(@name = $written)]"><xsl:copy-of select="." /></xsl:for-each>
    </xsl:copy>
  </xsl:template>
  <!-- Dropped: "T:Runchat.Internal.X", "M:Runchat.Internal.X.Y(...)", ...: the id after its one-letter kind. (XSLT 1.0 allows no $prefix in a match.) -->
  <xsl:template match="member">
    <xsl:if test="not(substring(@name, 2, 1) = ':' and starts-with(substring(@name, 3), $prefix))"><xsl:copy><xsl:apply-templates select="@*|node()" /></xsl:copy></xsl:if>
  </xsl:template>
</xsl:stylesheet>

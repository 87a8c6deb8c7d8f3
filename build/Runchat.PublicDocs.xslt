<?xml version="1.0" encoding="utf-8"?>
<!--
  Used by Runchat.PublicDocs.targets: the documentation file as users get it.
  - The entries of Runchat.Internal are dropped.
  The generated client class has no public members of its own (build/templates/Client.Class.liquid),
  and PublicApi/XmlDocsTests fails if a public member has no docs at all, so a member NSwag starts
  generating later is noticed.
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:param name="prefix" />
  <xsl:output method="xml" encoding="utf-8" indent="no" />
  <xsl:template match="@*|node()"><xsl:copy><xsl:apply-templates select="@*|node()" /></xsl:copy></xsl:template>
  <!-- Dropped: "T:Runchat.Internal.X", "M:Runchat.Internal.X.Y(...)", ...: the id after its one-letter kind. (XSLT 1.0 allows no $prefix in a match.) -->
  <xsl:template match="member">
    <xsl:if test="not(substring(@name, 2, 1) = ':' and starts-with(substring(@name, 3), $prefix))"><xsl:copy><xsl:apply-templates select="@*|node()" /></xsl:copy></xsl:if>
  </xsl:template>
</xsl:stylesheet>
